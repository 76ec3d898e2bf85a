// The API key, when the server asks for one: kept for this browser tab only.
// Shared by the chat page and the dashboard; each has a #key-form with an #api-key field.
window.wegwijzerKey = (() => {
  'use strict';
  const STORAGE = 'wegwijzer.apiKey';
  const form = () => document.getElementById('key-form');

  return {
    // request headers with the stored key as a bearer token, if there is one
    headers(extra) {
      const headers = { ...extra };
      const key = sessionStorage.getItem(STORAGE);
      if (key) headers.Authorization = `Bearer ${key}`;
      return headers;
    },
    // show the key form; forget the stored key when the server refused it (401)
    ask(forget) {
      if (forget) sessionStorage.removeItem(STORAGE);
      form().hidden = false;
    },
    // store a key entered in the form, hide the form, then call `entered`
    onEntered(entered) {
      form().addEventListener('submit', (event) => {
        event.preventDefault();
        const field = document.getElementById('api-key');
        const key = field.value.trim();
        if (!key) return;
        sessionStorage.setItem(STORAGE, key);
        field.value = '';
        form().hidden = true;
        entered();
      });
    },
  };
})();
