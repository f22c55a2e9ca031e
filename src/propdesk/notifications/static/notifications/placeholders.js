// Settings > Notifications: a placeholder button (data-placeholder="name") writes
// "{{ name }}" where the cursor was in the subject or the body (the body when neither was used).
(function () {
  var form = document.getElementById("template-form");
  if (!form) return;
  var last = form.querySelector("textarea");
  form.querySelectorAll("input[type=text], textarea").forEach(function (field) {
    field.addEventListener("focus", function () { last = field; });
  });
  document.querySelectorAll("[data-placeholder]").forEach(function (button) {
    button.addEventListener("click", function () {
      if (!last) return;
      var text = "{{ " + button.dataset.placeholder + " }}";
      var start = last.selectionStart, end = last.selectionEnd;
      last.setRangeText(text, start === null ? last.value.length : start, end === null ? last.value.length : end, "end");
      last.focus();
    });
  });
})();
