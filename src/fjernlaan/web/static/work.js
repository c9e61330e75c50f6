// The staff's work pages. The scan box: after each scan the box is emptied and keeps the focus, so
// the next barcode can follow at once. The slips page: the Print button opens the browser's print.
(function () {
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (form && form.id === "scan-form") {
      form.reset();
      var box = document.getElementById("scan-barcode");
      if (box) { box.focus(); }
    }
  });
  document.addEventListener("DOMContentLoaded", function () {
    var button = document.getElementById("print-now");
    if (button) { button.addEventListener("click", function () { window.print(); }); }
  });
})();
