// What `npm run flash` writes as ".bootcde": a few bytes that run the app in one of two
// Storage slots. Apart from tools/flash.mjs (which runs when imported), so tests can put an
// app into Storage the way the flash does.

// Two app slots: the new bundle goes to the one not booting, so the old one stays whole until the switch.
export const APP_SLOTS = ['.app0', '.app1'];

/**
 * The few bytes of ".bootcde" that run the app in `slot`: function text stays in flash as
 * for .bootcde itself, and an exception at boot is kept in `bootError` for the checks.
 */
export function bootLoader(slot) {
  return `// npm run flash: the app is the Storage file "${slot}"\n` +
    `try{eval(require("Storage").read(${JSON.stringify(slot)}))}catch(e){bootError=""+e;print("Uncaught "+e+" (in ${slot})")}\n`;
}

/** The slot a ".bootcde" loader boots, or null when it is not one of ours. */
export function slotOf(bootCode) {
  const m = bootCode && bootCode.match(/read\("(\.app\d)"\)/);
  return m && APP_SLOTS.includes(m[1]) ? m[1] : null;
}
