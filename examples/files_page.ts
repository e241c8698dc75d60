// The page of examples/files.ts: plain HTML and JavaScript with no external
// resources. Stable ids for tests: #user, #password, #drop (the drop zone),
// #pick (a file input), #progress (a <progress>, 0-100), #status, #files (the list).
export const PAGE = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Files</title><link rel="icon" href="data:,">
<style>
body{margin:0 auto;max-width:700px;padding:16px;font:15px/1.4 system-ui,sans-serif;color:#1d2733}
#drop{border:3px dashed #8aa;border-radius:10px;padding:40px;text-align:center;margin:12px 0}#drop.over{background:#e8f4ff;border-color:#2d6cdf}
progress{width:100%;height:18px}input{font:inherit;padding:4px 8px;margin-right:8px}
li{padding:4px 0;border-bottom:1px solid #eee}button{margin-left:8px}
</style></head><body>
<h1>Files</h1>
<p><input id="user" placeholder="user" value="admin"><input id="password" type="password" placeholder="password"></p>
<div id="drop">Drop files here, or <input id="pick" type="file" multiple></div>
<progress id="progress" max="100" value="0"></progress>
<p id="status">Ready</p>
<ul id="files"></ul>
<script>
var $ = function (id) { return document.getElementById(id); };
// X-Requested-With: the server then answers a wrong password without a challenge, so the browser shows no login prompt of its own.
function headers() { return { Authorization: 'Basic ' + btoa($('user').value + ':' + $('password').value), 'X-Requested-With': 'files-page' }; }
function list() {
  fetch('/files').then(function (r) { return r.json(); }).then(function (d) {
    $('files').innerHTML = '';
    d.files.forEach(function (f) {
      var li = document.createElement('li'), a = document.createElement('a'), b = document.createElement('button');
      a.href = '/files/' + encodeURIComponent(f.name); a.textContent = f.name + ' (' + f.size + ' bytes)';
      b.textContent = 'delete'; b.onclick = function () { fetch(a.href, { method: 'DELETE', headers: headers() }).then(function (r) { if (r.status !== 204) $('status').textContent = 'Failed: ' + r.status; list(); }); };
      li.appendChild(a); li.appendChild(b); $('files').appendChild(li);
    });
    $('status').dataset.free = d.free;
  });
}
function upload(files) {
  if (!files.length) return;
  var form = new FormData();
  // Each file's size first: the board then takes exactly that much flash for it, and checks the length.
  for (var i = 0; i < files.length; i++) { form.append('size', String(files[i].size)); form.append('file', files[i], files[i].name); }
  var xhr = new XMLHttpRequest();
  xhr.open('POST', '/files');
  var h = headers();
  for (var k in h) xhr.setRequestHeader(k, h[k]);
  xhr.upload.onprogress = function (e) { if (e.lengthComputable) $('progress').value = Math.round(100 * e.loaded / e.total); };
  xhr.onload = function () {
    var d = {}; try { d = JSON.parse(xhr.responseText); } catch (e) {}
    $('status').textContent = xhr.status === 201 ? 'Stored ' + d.stored.map(function (f) { return f.name + ' (' + f.size + ' bytes)'; }).join(', ') : 'Failed: ' + xhr.status + ' ' + (d.error || '');
    if (xhr.status === 201) $('progress').value = 100;
    list();
  };
  xhr.onerror = function () { $('status').textContent = 'Failed: the connection broke'; };
  $('progress').value = 0;
  $('status').textContent = 'Uploading...';
  xhr.send(form);
}
var drop = $('drop');
drop.ondragover = function (e) { e.preventDefault(); drop.className = 'over'; };
drop.ondragleave = function () { drop.className = ''; };
drop.ondrop = function (e) { e.preventDefault(); drop.className = ''; upload(e.dataTransfer.files); };
$('pick').onchange = function () { upload(this.files); };
list();
</script></body></html>`;
