// Drop a photo on the page to search by it: the dropped file goes into the upload form.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("drop");
  const input = document.getElementById("drop-input");
  if (!form || !input) return;
  input.addEventListener("change", () => { if (input.files.length) form.submit(); });
  const over = (event) => { event.preventDefault(); form.classList.add("over"); };
  const leave = () => form.classList.remove("over");
  document.addEventListener("dragover", over);
  document.addEventListener("dragleave", leave);
  document.addEventListener("drop", (event) => {
    event.preventDefault();
    leave();
    const files = event.dataTransfer && event.dataTransfer.files;
    if (files && files.length) {
      input.files = files;
      form.submit();
    }
  });
});
