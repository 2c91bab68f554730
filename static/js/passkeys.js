// Passkeys (WebAuthn) for two-step sign-in: adding one ([data-passkey-register]) and signing in
// with one ([data-passkey-verify]). The server sends the options as JSON with base64url fields
// (py_webauthn) and takes the browser's answer in the same shape.
(function () {
  "use strict";

  function toBytes(base64url) {
    var base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
    var padded = base64 + "===".slice((base64.length + 3) % 4);
    var binary = atob(padded);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes.buffer;
  }

  function toBase64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) return decodeURIComponent(match[1]);
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function post(url, body) {
    var headers = { "X-CSRFToken": csrfToken(), "Content-Type": "application/json" };
    return fetch(url, { method: "POST", credentials: "same-origin", headers: headers, body: body || "{}" })
      .then(function (response) {
        return response.json().then(function (data) {
          if (!response.ok) throw new Error(data.detail || "Something went wrong. Please try again.");
          return data;
        });
      });
  }

  function descriptors(list) {
    return (list || []).map(function (item) {
      return { type: item.type, id: toBytes(item.id), transports: item.transports };
    });
  }

  function credentialJSON(credential) {
    var response = credential.response;
    var out = {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      clientExtensionResults: credential.getClientExtensionResults(),
      response: { clientDataJSON: toBase64url(response.clientDataJSON) },
    };
    if (credential.authenticatorAttachment) out.authenticatorAttachment = credential.authenticatorAttachment;
    if (response.attestationObject) {
      out.response.attestationObject = toBase64url(response.attestationObject);
      if (response.getTransports) out.response.transports = response.getTransports();
    } else {
      out.response.authenticatorData = toBase64url(response.authenticatorData);
      out.response.signature = toBase64url(response.signature);
      if (response.userHandle) out.response.userHandle = toBase64url(response.userHandle);
    }
    return out;
  }

  function wire(root, run) {
    var button = root.querySelector("[data-passkey-button]");
    var error = root.querySelector("[data-passkey-error]");
    if (!button) return;
    if (!window.PublicKeyCredential) {
      error.textContent = "This browser cannot use passkeys. Use an authenticator app instead.";
      error.hidden = false;
      button.disabled = true;
      return;
    }
    button.addEventListener("click", function () {
      error.hidden = true;
      button.disabled = true;
      run(root).then(function (data) {
        window.location.assign(data.redirect);
      }).catch(function (exc) {
        error.textContent = exc.name === "NotAllowedError"
          ? "The passkey request was cancelled or timed out. Please try again."
          : exc.message;
        error.hidden = false;
        button.disabled = false;
      });
    });
  }

  function register(root) {
    return post(root.dataset.optionsUrl).then(function (options) {
      options.challenge = toBytes(options.challenge);
      options.user.id = toBytes(options.user.id);
      options.excludeCredentials = descriptors(options.excludeCredentials);
      return navigator.credentials.create({ publicKey: options });
    }).then(function (credential) {
      var name = root.querySelector("[data-passkey-name]");
      return post(root.dataset.finishUrl, JSON.stringify({
        credential: credentialJSON(credential),
        name: name ? name.value : "",
      }));
    });
  }

  function verify(root) {
    return post(root.dataset.optionsUrl).then(function (options) {
      options.challenge = toBytes(options.challenge);
      options.allowCredentials = descriptors(options.allowCredentials);
      return navigator.credentials.get({ publicKey: options });
    }).then(function (credential) {
      return post(root.dataset.finishUrl, JSON.stringify({ credential: credentialJSON(credential) }));
    });
  }

  document.querySelectorAll("[data-passkey-register]").forEach(function (root) { wire(root, register); });
  document.querySelectorAll("[data-passkey-verify]").forEach(function (root) { wire(root, verify); });
})();
