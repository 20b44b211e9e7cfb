// Asks before a destructive form is sent: a form with data-confirm="question" (the page's
// translated words) is sent only if the person accepts window.confirm. No inline handlers:
// the Content-Security-Policy refuses them.
document.addEventListener("submit", (event) => {
  const form = event.target;
  const question = form instanceof HTMLFormElement ? form.dataset.confirm : undefined;
  if (question && !window.confirm(question)) event.preventDefault();
});
