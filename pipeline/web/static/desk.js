// The desk's only script, and it is optional: files dropped anywhere on the drop zone go to its file input
// (without this, the input itself still takes a drop, and a click opens the file chooser).
document.querySelectorAll("label.drop").forEach(function (zone) {
  var input = zone.querySelector("input[type=file]");
  var chosen = zone.querySelector(".chosen");
  function show() {
    chosen.textContent = Array.prototype.map.call(input.files, function (f) { return f.name; }).join(", ");
  }
  zone.addEventListener("dragover", function (event) { event.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", function () { zone.classList.remove("over"); });
  zone.addEventListener("drop", function (event) {
    event.preventDefault();
    zone.classList.remove("over");
    input.files = event.dataTransfer.files;
    show();
  });
  input.addEventListener("change", show);
});
