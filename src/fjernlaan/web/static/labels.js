// The label page's Print button: the browser's print dialog (the print stylesheet keeps only the labels).
(function () {
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest(".js-print");
    if (button) { window.print(); }
  });
})();
