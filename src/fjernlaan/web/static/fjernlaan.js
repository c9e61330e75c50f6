// Start Det Fælles Designsystem's components (mobile menu, accordions, …), again on content htmx swaps in.
(function () {
  function start() { if (window.DKFDS) { window.DKFDS.init(); } }
  document.addEventListener("DOMContentLoaded", start);
  document.addEventListener("htmx:afterSettle", start);
})();
