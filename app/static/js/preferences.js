// The signed-in user's channel preferences: email and push on or off, and per notification type.

import { byId, showMessage } from "./dom.js";

const CHANNEL_NAMES = { email: "Email", push: "Push to this device's browser" };

function checkbox(name, text, checked) {
  const label = document.createElement("label");
  label.className = "checkbox";
  const input = document.createElement("input");
  input.type = "checkbox";
  input.name = name;
  input.checked = checked;
  label.append(input, ` ${text}`);
  return label;
}

export class PreferencesPanel {
  #api;

  constructor({ api }) {
    this.#api = api;
  }

  async load() {
    this.#show(await this.#api.call("GET", "/api/users/me/preferences"));
  }

  clear() {
    byId("preferences-fields").replaceChildren();
    showMessage(byId("preferences-status"), "");
  }

  // One fieldset per channel: its switch, then a switch per notification type.
  #show(preferences) {
    const fieldsets = Object.entries(preferences.channels).map(([channel, on]) => {
      const fieldset = document.createElement("fieldset");
      const legend = document.createElement("legend");
      legend.textContent = CHANNEL_NAMES[channel] ?? channel;
      fieldset.append(legend, checkbox(`channel:${channel}`, `${legend.textContent}: on`, on));
      for (const [type, typeOn] of Object.entries(preferences.types[channel] ?? {})) {
        fieldset.append(checkbox(`type:${channel}:${type}`, `“${type}” notifications`, typeOn));
      }
      return fieldset;
    });
    byId("preferences-fields").replaceChildren(...fieldsets);
  }

  async save(form) {
    const changes = { channels: {}, types: {} };
    for (const input of form.querySelectorAll("input[type=checkbox]")) {
      const [kind, channel, type] = input.name.split(":");
      if (kind === "channel") changes.channels[channel] = input.checked;
      else (changes.types[channel] ??= {})[type] = input.checked;
    }
    const status = byId("preferences-status");
    try {
      this.#show(await this.#api.call("PUT", "/api/users/me/preferences", changes));
      showMessage(status, "Preferences saved.");
    } catch (error) {
      showMessage(status, `Not saved: ${error.message}`, { error: true });
    }
  }
}
