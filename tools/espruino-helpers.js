// Espruino-safe replacements for TypeScript's ES5 emit helpers.
//
// TypeScript's own helpers throw on Espruino: they call inner functions before
// their declarations run (Espruino does not hoist), use Symbol, and call
// Object.create(proto, descriptors). These are written for the interpreter:
// every function is defined before it is used, no Symbol, no
// Array.prototype.slice, no array holes. build.mjs injects only the helpers a
// bundle references, once per bundle. Each helper starts at a line
// "// @helper NAME" and runs to the next marker.

// @helper __extends
var __extends = function (derived, base) {
  if (typeof base !== "function" && base !== null)
    throw new TypeError("Class extends value " + String(base) + " is not a constructor or null");
  for (var key in base)
    if (key !== "prototype" && Object.prototype.hasOwnProperty.call(base, key)) derived[key] = base[key];
  derived.prototype = base === null ? {} : Object.create(base.prototype);
  derived.prototype.constructor = derived;
};

// @helper __assign
var __assign = function (target) {
  for (var i = 1; i < arguments.length; i++) {
    var source = arguments[i];
    for (var key in source)
      if (Object.prototype.hasOwnProperty.call(source, key)) target[key] = source[key];
  }
  return target;
};

// @helper __rest
var __rest = function (source, excluded) {
  var result = {};
  for (var key in source)
    if (Object.prototype.hasOwnProperty.call(source, key) && excluded.indexOf(key) < 0) result[key] = source[key];
  return result;
};

// @helper __values
// An iterator over an array, a string, or an object that is already an iterator
// (a generator object made by __generator).
var __values = function (source) {
  if (source && typeof source.next === "function") return source;
  if (source && typeof source.length === "number") {
    var index = 0;
    return {
      next: function () {
        if (index < source.length) return { value: source[index++], done: false };
        return { value: void 0, done: true };
      }
    };
  }
  throw new TypeError("Object is not iterable: " + source);
};

// @helper __read
// The first `count` values (all when count is undefined) of an iterable as an array.
var __read = function (source, count) {
  if (source && typeof source.next !== "function" && typeof source.length === "number") return source;
  var iterator = __values(source), result = [], step;
  while ((count === void 0 || count-- > 0) && !(step = iterator.next()).done) result.push(step.value);
  return result;
};

// @helper __spreadArray
var __spreadArray = function (to, from) {
  for (var i = 0; i < from.length; i++) to.push(from[i]);
  return to;
};

// @helper __makeTemplateObject
var __makeTemplateObject = function (cooked, raw) {
  Object.defineProperty(cooked, "raw", { value: raw });
  return cooked;
};

// @helper __generator
// Runs the state machine TypeScript writes for a generator body. Instructions
// (op[0]): 0 next, 1 throw, 2 return, 3 break, 4 yield, 5 yield*, 6 catch, 7 endfinally.
// Same protocol as TypeScript's helper, written so each function exists
// before it is called.
var __generator = function (thisArg, body) {
  var state = { label: 0, sent: function () { if (t[0] & 1) throw t[1]; return t[1]; }, trys: [], ops: [] };
  var executing = false, started = false, delegate, t, generator = {};
  var step = function (op) {
    if (executing) throw new TypeError("Generator is already executing.");
    if (!started) {
      started = true;
      if (op[0]) state = 0; // throw() or return() before the first next() ends it
    }
    while (state) {
      try {
        executing = true;
        if (delegate) {
          t = op[0] & 2 ? delegate["return"] : op[0] ? delegate["throw"] || ((t = delegate["return"]) && t.call(delegate), 0) : delegate.next;
          if (t && !(t = t.call(delegate, op[1])).done) return t;
          delegate = 0;
          if (t) op = [op[0] & 2, t.value];
        }
        var stop = false;
        switch (op[0]) {
          case 0: case 1: t = op; break;
          case 4: state.label++; return { value: op[1], done: false };
          case 5: state.label++; delegate = op[1]; op = [0]; stop = true; break;
          case 7: op = state.ops.pop(); state.trys.pop(); stop = true; break;
          default:
            t = state.trys;
            t = t.length > 0 && t[t.length - 1];
            if (!t && (op[0] === 6 || op[0] === 2)) { state = 0; stop = true; break; }
            if (op[0] === 3 && (!t || (op[1] > t[0] && op[1] < t[3]))) { state.label = op[1]; break; }
            if (op[0] === 6 && state.label < t[1]) { state.label = t[1]; t = op; break; }
            if (t && state.label < t[2]) { state.label = t[2]; state.ops.push(op); break; }
            if (t[2]) state.ops.pop();
            state.trys.pop();
            stop = true;
        }
        if (!stop) op = body.call(thisArg, state);
      } catch (e) {
        op = [6, e];
        delegate = 0;
      } finally {
        executing = false;
        t = 0;
      }
    }
    if (op[0] & 5) throw op[1];
    return { value: op[0] ? op[1] : void 0, done: true };
  };
  generator.step = step;
  generator.next = function (v) { return step([0, v]); };
  generator["throw"] = function (v) { return step([1, v]); };
  generator["return"] = function (v) { return step([2, v]); };
  return generator;
};

// @helper __awaiter
// The body runs up to its first await from here, not from inside the Promise
// executor, and resumes through __generator's own step (`generator.step`, not
// next()): two C stack frames fewer under every async function.
var __awaiter = function (thisArg, args, P, generatorFunction) {
  var resolve, reject, generator, step, fulfilled, rejected;
  var promise = new Promise(function (res, rej) { resolve = res; reject = rej; });
  step = function (result) {
    if (result.done) resolve(result.value);
    else Promise.resolve(result.value).then(fulfilled, rejected);
  };
  fulfilled = function (value) {
    try { step(generator.step([0, value])); } catch (e) { reject(e); }
  };
  rejected = function (value) {
    try { step(generator.step([1, value])); } catch (e) { reject(e); }
  };
  try {
    generator = generatorFunction.apply(thisArg, args || []);
    step(generator.step([0]));
  } catch (e) {
    reject(e);
  }
  return promise;
};
