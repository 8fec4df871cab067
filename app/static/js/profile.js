// The signed-in user's profile: display name and bio, the picture, deleting the account.

import { byId, showMessage } from "./dom.js";

const PICTURE_MAX_BYTES = 2 * 1024 * 1024; // PICTURE_MAX_BYTES; the server checks too

function failure(error) {
  if (error.status === 0) return "Herald cannot be reached.";
  if (error.status === 413) return "The picture is larger than 2 MB.";
  return [error.message, ...error.details].join(" ");
}

export class ProfilePanel {
  #api;
  #onDeleted;

  constructor({ api, onDeleted }) {
    this.#api = api;
    this.#onDeleted = onDeleted;
  }

  // Fill the forms from the user as the server shows them.
  show(user) {
    const form = byId("profile-form");
    form.elements.displayName.value = user.displayName ?? "";
    form.elements.bio.value = user.bio ?? "";
    this.#showPicture(user.pictureUrl);
  }

  clear() {
    for (const id of ["profile-form", "picture-form", "delete-account-form"]) byId(id).reset();
    for (const id of ["profile-status", "picture-status", "delete-status"]) {
      showMessage(byId(id), "");
    }
    byId("delete-account-form").closest("details").open = false;
    this.#showPicture(null);
  }

  #showPicture(url) {
    const picture = byId("profile-picture");
    picture.hidden = !url;
    byId("profile-no-picture").hidden = Boolean(url);
    byId("remove-picture").hidden = !url;
    if (url) picture.src = url;
    else picture.removeAttribute("src");
  }

  async save(form) {
    const status = byId("profile-status");
    const displayName = form.elements.displayName.value.trim();
    try {
      const user = await this.#api.updateProfile({
        displayName: displayName || null,
        bio: form.elements.bio.value,
      });
      this.show(user);
      showMessage(status, "Profile saved.");
    } catch (error) {
      showMessage(status, `Not saved: ${failure(error)}`, { error: true });
    }
  }

  async upload(form) {
    const status = byId("picture-status");
    const [file] = form.elements.picture.files;
    if (!file) return;
    if (file.size > PICTURE_MAX_BYTES) {
      showMessage(status, "The picture is larger than 2 MB.", { error: true });
      return;
    }
    showMessage(status, "Uploading…");
    try {
      this.#showPicture((await this.#api.uploadPicture(file)).pictureUrl);
      form.reset();
      showMessage(status, "Picture saved.");
    } catch (error) {
      showMessage(status, `Not saved: ${failure(error)}`, { error: true });
    }
  }

  async removePicture() {
    const status = byId("picture-status");
    try {
      await this.#api.removePicture();
      this.#showPicture(null);
      showMessage(status, "Picture removed.");
    } catch (error) {
      showMessage(status, `Not removed: ${failure(error)}`, { error: true });
    }
  }

  async deleteAccount(form) {
    const status = byId("delete-status");
    try {
      await this.#api.deleteAccount(form.elements.password.value);
    } catch (error) {
      const detail = error.status === 403 ? "That is not your password." : failure(error);
      showMessage(status, `Not deleted: ${detail}`, { error: true });
      form.elements.password.select();
      return;
    }
    this.#onDeleted();
  }
}
