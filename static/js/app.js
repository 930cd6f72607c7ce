// The one small script: close an open <dialog> in #modal-root on the "closeModal" event,
// and copy a secret to the clipboard from buttons with data-copy="#element-id".
document.addEventListener("closeModal", () => {
  document.querySelectorAll("#modal-root dialog[open]").forEach((dialog) => dialog.close());
});
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const source = document.querySelector(button.dataset.copy);
  if (source && navigator.clipboard) {
    navigator.clipboard.writeText(source.textContent.trim());
    button.textContent = "Copied";
  }
});
