// A "Copy" button (data-copy="<selector of the field>") shown where the browser can copy.
document.querySelectorAll("[data-copy]").forEach(function (button) {
  if (!navigator.clipboard) return;
  button.hidden = false;
  button.addEventListener("click", function () {
    var field = document.querySelector(button.dataset.copy);
    if (!field) return;
    navigator.clipboard.writeText(field.value).then(function () {
      var said = button.parentElement.querySelector("[data-copied]");
      if (said) said.hidden = false;
    });
  });
});
