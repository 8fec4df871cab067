// Posts, topics and follows: the feed with its compose box (a followed author's new
// post appears live), the topics to join or leave, and a follow button per user.

import { element } from "./dom.js";

const TIME_FORMAT = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

export class Social {
  #me = null;
  #following = new Set(); // ids of the users the signed-in user follows
  #buttons = new Map(); // user id -> their follow button
  #posts = new Set(); // ids of the posts the feed shows

  // api: HeraldApi; nodes: the feed, the topic list and the status lines.
  constructor({ api, nodes }) {
    Object.assign(this, { api, nodes });
  }

  signedIn(me) {
    this.#me = me;
  }

  clear() {
    this.#me = null;
    this.#following.clear();
    this.#buttons.clear();
    this.#posts.clear();
    this.nodes.feed.replaceChildren();
    this.nodes.topics.replaceChildren();
  }

  async load() {
    const [following, posts, topics] = await Promise.all([
      this.api.following(this.#me.id),
      this.api.posts(),
      this.api.topics(),
    ]);
    this.#following = new Set(following.items.map((user) => user.id));
    for (const [id, button] of this.#buttons) this.#paintFollow(button, id);
    for (const post of [...posts.items].reverse()) this.#showPost(post);
    this.nodes.topics.replaceChildren(...topics.items.map((topic) => this.#topicNode(topic)));
  }

  // A follow button for `user`'s entry in the user list (none for oneself).
  decorate(user, node) {
    if (!this.#me || user.id === this.#me.id) return;
    const button = element("button", "follow button-quiet");
    button.type = "button";
    button.dataset.userId = user.id;
    button.addEventListener("click", () => this.#toggleFollow(user, button));
    this.#buttons.set(user.id, button);
    this.#paintFollow(button, user.id);
    node.append(button);
  }

  async publish(text) {
    const post = await this.api.publish(text);
    this.#showPost({ ...post, authorName: this.#me.username });
    return post;
  }

  // A notification just arrived: a followed author's post shows in the feed at once.
  notified(notification) {
    if (notification.type !== "post" || !notification.data?.postId) return;
    const { postId, authorId, text } = notification.data;
    const authorName = notification.message.split(" posted: ")[0];
    this.#showPost({ id: postId, authorId, authorName, text, createdAt: notification.createdAt });
  }

  async createTopic(key, name) {
    const topic = await this.api.createTopic(key, name);
    this.nodes.topics.prepend(this.#topicNode(topic));
    return topic;
  }

  async #toggleFollow(user, button) {
    button.disabled = true;
    const following = this.#following.has(user.id);
    try {
      await (following ? this.api.unfollow(user.id) : this.api.follow(user.id));
      if (following) this.#following.delete(user.id);
      else this.#following.add(user.id);
      this.#paintFollow(button, user.id);
    } finally {
      button.disabled = false;
    }
  }

  #paintFollow(button, userId) {
    const following = this.#following.has(userId);
    button.textContent = following ? "Unfollow" : "Follow";
    button.setAttribute("aria-pressed", String(following));
  }

  #showPost(post) {
    if (this.#posts.has(post.id)) return;
    this.#posts.add(post.id);
    const node = element("li", "post");
    node.dataset.id = post.id;
    node.append(element("p", "post-text", post.text));
    const meta = element("p", "post-meta", post.authorName ?? "");
    const created = new Date(post.createdAt);
    if (!Number.isNaN(created.getTime())) meta.append(` · ${TIME_FORMAT.format(created)}`);
    node.append(meta);
    // Newest first: ids are time-ordered.
    const after = [...this.nodes.feed.children].find((child) => child.dataset.id < post.id);
    this.nodes.feed.insertBefore(node, after ?? null);
  }

  #topicNode(topic) {
    const node = element("li", "topic");
    node.dataset.key = topic.key;
    const label = element("span", "topic-name", topic.name);
    const count = element("span", "topic-count", this.#members(topic.subscriberCount));
    const button = element("button", "topic-join button-quiet");
    button.type = "button";
    let subscribed = topic.subscribed;
    const paint = () => {
      button.textContent = subscribed ? "Leave" : "Join";
      button.setAttribute("aria-pressed", String(subscribed));
      node.dataset.subscribed = String(subscribed);
    };
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        await (subscribed ? this.api.leaveTopic(topic.key) : this.api.joinTopic(topic.key));
        topic.subscriberCount += subscribed ? -1 : 1;
        subscribed = !subscribed;
        count.textContent = this.#members(topic.subscriberCount);
        paint();
      } finally {
        button.disabled = false;
      }
    });
    paint();
    node.append(label, count, button);
    return node;
  }

  #members(count) {
    return count === 1 ? "1 member" : `${count} members`;
  }
}
