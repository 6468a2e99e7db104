// @ts-check
/**
 * The call on screen, for both pages: a tile per person in the call (this
 * device's own included), labelled with name and role and whether their
 * camera or microphone is off, with the connection-quality line of each;
 * one tile large (the one pinned, else whoever speaks), or all the same size;
 * and the list of everyone in the call beside it.
 *
 * What it shows comes from the room (lib/room.js: the roster, the sealed
 * `profile` names and `media` states) and the mesh (lib/mesh.js: the media
 * and each connection's state); it tells the others, sealed, when this
 * device's camera or microphone is off. Changes that matter are said in the
 * live region: someone joins or leaves, switches their camera, or their
 * connection fails its security check.
 *
 * The DOM it fills: `#tiles` (a list of `.tile` elements, each with
 * `data-participant`, `data-role`, and `data-self` for this device's own;
 * its video is `#local`), `#layout` (the "same size" switch) and
 * `#participants` (the list), from lib/page.js's `stage` and `people` templates.
 */
import { $, announce, say, nameInSentence } from './ui.js';
import { t, has } from './i18n.js';

/** @typedef {import('./room.js').SecureRoom} SecureRoom */
/** @typedef {import('./room.js').Member} Member */
/** @typedef {import('./mesh.js').Mesh} Mesh */

/** How often the connections are measured (quality, who speaks). */
const MEASURE_MS = 1000;
/** Quality is judged over this many measurements. */
const QUALITY_EVERY = 2;
/** Audio level (0…1, from getStats) above which someone counts as speaking. */
const SPEAKING = 0.02;

/**
 * @typedef {object} Tile
 * @property {HTMLLIElement} element
 * @property {HTMLVideoElement} video
 * @property {string} participant
 * @property {boolean} self
 * @property {number} order  when it came, to keep tiles in a stable order
 * @property {boolean} cameraOff  as they told (sealed `media`)
 * @property {boolean} micOff
 * @property {boolean | null} fingerprint  their DTLS certificate matched the sealed SDP (null: not known yet)
 */

/**
 * How a person is named on screen: their display name with the role, or
 * the role alone ("Tolken").
 * @param {{role?: string, name?: string, self?: boolean}} member
 */
export function personLabel({ role, name, self }) {
  if (self) return t('call.you');
  const who = has(`role.${role}`) ? t(`role.${role}`) : t('chat.from.other');
  return name ? `${name} (${who.toLocaleLowerCase()})` : who;
}

export class CallGrid {
  /**
   * @param {SecureRoom} room
   * @param {Mesh} mesh
   * @param {object} options
   * @param {() => MediaStream | null} options.ownPicture  what this device shows of itself (camera or shared screen)
   * @param {() => {video: boolean, audio: boolean}} options.ownMedia  whether this device's camera and microphone are on
   * @param {() => string | null} [options.ownName]  the name this device sent to the others
   */
  constructor(room, mesh, { ownPicture, ownMedia, ownName = () => null }) {
    this.room = room;
    this.mesh = mesh;
    this.ownPicture = ownPicture;
    this.ownMedia = ownMedia;
    this.ownName = ownName;
    /** @type {Map<string, Tile>} */
    this.tiles = new Map();
    /** @type {Set<string>} everyone ever reachable in this call: their coming back is "back", not "joined" */
    this.known = new Set();
    /** @type {Set<string>} those who left the roster: only their return is announced (not everyone's after this page's own reconnect) */
    this.away = new Set();
    /** @type {string | null} */
    this.pinned = null;
    /** @type {string | null} */
    this.speaker = null;
    /** @type {string | null} who spoke loudest at the last measurement: the speaker changes after two */
    this.loudest = null;
    this.ticks = 0;
    this.order = 0;
    this.closed = false;
    this.list = $('#tiles');
    this.list.replaceChildren();
    this.list.dataset.layout = 'speaker';
    $('#participants').replaceChildren();
    this.layoutButton = /** @type {HTMLButtonElement} */ ($('#layout'));
    this.layoutButton.setAttribute('aria-pressed', 'false');
    this.layoutButton.onclick = () => this.toggleLayout();

    /** @param {Event} event */
    const detail = (event) => /** @type {CustomEvent} */ (event).detail;
    /** @type {Array<[EventTarget, string, (event: Event) => void]>} */
    this.listeners = [
      [room, 'roster', (e) => this.roster(detail(e))],
      [room, 'peer-ready', (e) => this.arrived(detail(e))],
      [room, 'peer-gone', (e) => this.gone(detail(e))],
      [room, 'profile', () => this.relabel()],
      [room, 'media', (e) => this.media(detail(e))],
      [mesh, 'stream', (e) => this.stream(detail(e))],
      [mesh, 'state', (e) => this.connection(detail(e))],
      [mesh, 'fingerprint', (e) => this.fingerprint(detail(e))],
      [document, 'samrom:language', () => this.relabel()],
    ];
    for (const [target, type, handler] of this.listeners) target.addEventListener(type, handler);
    this.timer = setInterval(() => this.measure(), MEASURE_MS);
    this.ownTile();
  }

  /** This device's own tile, before anyone else is there. */
  ownTile() {
    const tile = this.tile(this.room.me ?? 'self', true);
    this.showOwnPicture();
    return tile;
  }

  /**
   * The tile of a participant, made if needed.
   * @param {string} participant
   * @param {boolean} self
   * @returns {Tile}
   */
  tile(participant, self) {
    const existing = self ? [...this.tiles.values()].find((tile) => tile.self) : this.tiles.get(participant);
    if (existing) {
      if (existing.participant !== participant) {
        // This device's participant id came with the welcome (or changed after a new one).
        this.tiles.delete(existing.participant);
        existing.participant = participant;
        existing.element.dataset.participant = participant;
        this.tiles.set(participant, existing);
      }
      return existing;
    }
    const element = document.createElement('li');
    element.className = 'tile';
    element.dataset.participant = participant;
    const video = document.createElement('video');
    video.autoplay = true;
    video.playsInline = true;
    if (self) {
      element.dataset.self = 'true';
      video.id = 'local';
      video.muted = true;  // never hear yourself
    }
    const note = document.createElement('p');
    note.className = 'no-video';
    note.hidden = true;
    const label = document.createElement('p');
    label.className = 'tile-label';
    const name = document.createElement('span');
    name.className = 'tile-name';
    const mic = document.createElement('span');
    mic.className = 'tile-mic-off';
    mic.hidden = true;
    label.append(name, ' ', mic);
    element.append(video, note, label);
    if (!self) {
      const quality = document.createElement('p');
      quality.className = 'quality';
      quality.dataset.level = 'connecting';
      const icon = document.createElement('span');
      icon.className = 'quality-icon';
      icon.setAttribute('aria-hidden', 'true');
      icon.append(document.createElement('span'), document.createElement('span'), document.createElement('span'));
      const text = document.createElement('span');
      text.className = 'quality-text';
      say(text, 'quality.connecting');
      quality.append(icon, ' ', text);
      const warning = document.createElement('p');
      warning.className = 'tile-warning problem';
      warning.hidden = true;
      const pin = document.createElement('button');
      pin.type = 'button';
      pin.className = 'pin';
      pin.setAttribute('aria-pressed', 'false');
      pin.addEventListener('click', () => this.pin(this.pinned === tile.participant ? null : tile.participant));
      element.append(quality, warning, pin);
    }
    /** @type {Tile} */
    const tile = { element, video, participant, self, order: this.order++, cameraOff: false, micOff: false, fingerprint: null };
    this.tiles.set(participant, tile);
    this.list.append(element);
    this.relabel();
    return tile;
  }

  /**
   * The roster changed: a tile for everyone in the call, none for anyone
   * who is not.
   * @param {Member[]} members
   */
  roster(members) {
    const present = new Set(members.map((member) => member.participant));
    for (const member of members) this.tile(member.participant, member.self);
    for (const tile of [...this.tiles.values()]) {
      if (!tile.self && !present.has(tile.participant)) this.remove(tile);
    }
    this.relabel();
  }

  /** @param {Tile} tile */
  remove(tile) {
    tile.video.srcObject = null;
    tile.element.remove();
    this.tiles.delete(tile.participant);
    if (this.pinned === tile.participant) this.pinned = null;
    if (this.speaker === tile.participant) this.speaker = null;
    this.layout();
  }

  /**
   * Someone can be reached: told this device's camera and microphone state
   * (the server keeps nothing of it, and cannot read it), and announced.
   * @param {Member} member
   */
  arrived(member) {
    const media = this.ownMedia();
    if (!media.video || !media.audio) this.room.send(member.participant, { kind: 'media', video: media.video, audio: media.audio });
    const { participant } = member;
    if (this.away.delete(participant)) {
      announce(t('call.peerBack', { who: nameInSentence(member) }));
    } else if (!this.known.has(participant) && !this.mesh.wasThere(participant)) {
      // Those already there when this page came back (reloaded) are not news: it says "Du er tilbake" instead.
      announce(t('call.joined', { who: nameInSentence(member) }));
    }
    this.known.add(participant);
    this.relabel();
  }

  /** @param {Member} member */
  gone(member) {
    this.away.add(member.participant);
    announce(t('call.left', { who: nameInSentence(member) }));
  }

  /** @param {{from: string, video: boolean, audio?: boolean}} detail */
  media({ from, video, audio }) {
    const tile = this.tiles.get(from);
    if (!tile) return;
    const member = this.room.members.get(from) ?? { role: undefined };
    if (tile.cameraOff !== !video) announce(t(video ? 'call.cameraOnBy' : 'call.cameraOffBy', { who: nameInSentence(member) }));
    tile.cameraOff = !video;
    if (typeof audio === 'boolean') {
      if (tile.micOff !== !audio) announce(t(audio ? 'call.micOnBy' : 'call.micOffBy', { who: nameInSentence(member) }));
      tile.micOff = !audio;
    }
    this.showPicture(tile);
    this.relabel();
  }

  /** @param {{participant: string, stream: MediaStream}} detail */
  stream({ participant, stream }) {
    const tile = this.tiles.get(participant) ?? this.tile(participant, false);
    tile.video.srcObject = stream;
    tile.video.play().catch(() => {});
    stream.onaddtrack = () => this.showPicture(tile);
    stream.onremovetrack = () => this.showPicture(tile);
    this.showPicture(tile);
  }

  /** @param {{participant: string, state: RTCPeerConnectionState}} detail */
  connection({ participant, state }) {
    const tile = this.tiles.get(participant);
    if (tile && (state === 'new' || state === 'connecting')) this.showQuality(tile, 'connecting');
  }

  /** @param {{participant: string, ok: boolean | null}} detail */
  fingerprint({ participant, ok }) {
    const tile = this.tiles.get(participant);
    if (!tile) return;
    tile.fingerprint = ok;
    tile.element.dataset.fingerprint = ok === null ? 'unknown' : String(ok);
    const warning = /** @type {HTMLElement | null} */ (tile.element.querySelector('.tile-warning'));
    if (warning) {
      warning.hidden = ok !== false;
      if (ok === false) say(warning, 'call.fingerprintMismatch');
    }
    if (ok === false) announce(t('call.fingerprintMismatchBy', { who: nameInSentence(this.room.members.get(participant) ?? {}) }));
  }

  /** Shows this device's own picture again (the camera, or a shared screen). */
  showOwnPicture() {
    const tile = [...this.tiles.values()].find((candidate) => candidate.self);
    if (!tile) return;
    const picture = this.ownPicture();
    if (tile.video.srcObject !== picture) {
      tile.video.srcObject = picture;
      if (picture) tile.video.play().catch(() => {});
    }
    const media = this.ownMedia();
    tile.cameraOff = !media.video;
    tile.micOff = !media.audio;
    this.showPicture(tile);
    this.relabel();
  }

  /**
   * This device's camera or microphone was switched (or a screen shared):
   * the others are told, sealed, and the own tile follows.
   */
  tellMedia() {
    const media = this.ownMedia();
    this.room.broadcast({ kind: 'media', video: media.video, audio: media.audio });
    this.showOwnPicture();
  }

  /**
   * The words over a tile without a picture: sound only, or the camera off.
   * @param {Tile} tile
   */
  showPicture(tile) {
    const note = /** @type {HTMLElement} */ (tile.element.querySelector('.no-video'));
    const stream = tile.video.srcObject instanceof MediaStream ? tile.video.srcObject : null;
    const soundOnly = !stream || stream.getVideoTracks().length === 0;
    const key = tile.self
      ? (soundOnly ? 'call.ownNoVideo' : tile.cameraOff ? 'call.ownCameraOff' : null)
      : (!stream ? 'quality.connecting' : soundOnly ? 'call.soundOnly' : tile.cameraOff ? 'call.cameraOff.tile' : null);
    note.hidden = key === null;
    tile.element.dataset.cameraOff = String(tile.cameraOff || soundOnly);
    if (key) say(note, key);
  }

  /** Names, roles and states on every tile and in the list; the large tile. */
  relabel() {
    const list = $('#participants');
    list.replaceChildren();
    const tiles = [...this.tiles.values()].sort((a, b) => a.order - b.order);
    for (const tile of tiles) {
      const member = this.room.members.get(tile.participant);
      const person = tile.self
        ? { role: member?.role, name: this.ownName() ?? undefined, self: true }
        : { role: member?.role, name: member?.name };
      const role = has(`role.${person.role}`) ? t(`role.${person.role}`) : '';
      const shown = tile.self
        ? `${t('call.you')}${person.name ? ` (${person.name})` : ''}${role ? ` – ${role.toLocaleLowerCase()}` : ''}`
        : personLabel(person);
      tile.element.dataset.role = person.role ?? '';
      /** @type {HTMLElement} */ (tile.element.querySelector('.tile-name')).textContent = shown;
      const mic = /** @type {HTMLElement} */ (tile.element.querySelector('.tile-mic-off'));
      mic.hidden = !tile.micOff;
      mic.textContent = t('call.micOff.tile');
      tile.video.setAttribute('aria-label', t('call.videoOf', { who: shown }));
      const pin = tile.element.querySelector('.pin');
      if (pin) {
        // One label; whether it is on is `aria-pressed`'s to say.
        pin.textContent = t('call.pin');
        pin.setAttribute('aria-pressed', String(this.pinned === tile.participant));
        pin.setAttribute('aria-label', t('call.pinWho', { who: shown }));
      }
      const item = document.createElement('li');
      item.dataset.participant = tile.participant;
      const states = [];
      if (tile.cameraOff) states.push(t('call.state.cameraOff'));
      if (tile.micOff) states.push(t('call.state.micOff'));
      if (!tile.self && !member?.ready) states.push(t('call.state.connecting'));
      if (tile.fingerprint === false) states.push(t('call.state.unsafe'));
      item.textContent = states.length ? `${shown}: ${states.join(', ')}` : shown;
      list.append(item);
    }
    const heading = $('#people-heading');
    delete heading.dataset.i18n;  // redrawn here on a change of language, with the count
    heading.textContent = t('call.peopleCount', { count: tiles.length });
    this.list.dataset.count = String(tiles.length);
    this.layout();
  }

  /**
   * Keeps one tile large: the one pinned, else whoever speaks, else the
   * first other person to come.
   * @param {string | null} participant
   */
  pin(participant) {
    this.pinned = participant;
    this.relabel();
    if (participant) {
      const member = this.room.members.get(participant);
      announce(t('call.pinned', { who: personLabel({ role: member?.role, name: member?.name }) }));
    } else {
      announce(t('call.unpinned'));
    }
  }

  /** All tiles the same size, or one large. */
  toggleLayout() {
    const grid = this.list.dataset.layout !== 'grid';
    this.list.dataset.layout = grid ? 'grid' : 'speaker';
    this.layoutButton.setAttribute('aria-pressed', String(grid));
    announce(t(grid ? 'call.layout.grid' : 'call.layout.speaker'));
  }

  layout() {
    const others = [...this.tiles.values()].filter((tile) => !tile.self).sort((a, b) => a.order - b.order);
    const featured = (this.pinned && this.tiles.get(this.pinned))
      || (this.speaker && this.tiles.get(this.speaker))
      || others[0]
      || [...this.tiles.values()][0];
    for (const tile of this.tiles.values()) tile.element.classList.toggle('featured', tile === featured);
    // On screen the large one first, then the others in the order they came, this device's
    // own last. Only the CSS order moves: the elements stay where they are, so the keyboard
    // focus (on a "Vis stort" just pressed) and a screen reader's place are kept.
    const ordered = [...this.tiles.values()].sort((a, b) => (a === featured ? -1 : b === featured ? 1 : (a.self ? 1 : 0) - (b.self ? 1 : 0) || a.order - b.order));
    ordered.forEach((tile, index) => { tile.element.style.order = String(index); });
  }

  /**
   * @param {Tile} tile
   * @param {'connecting' | import('./rtc.js').QualityLevel} level
   */
  showQuality(tile, level) {
    const element = /** @type {HTMLElement | null} */ (tile.element.querySelector('.quality'));
    if (!element || element.dataset.level === level) return;
    element.dataset.level = level;
    say(/** @type {HTMLElement} */ (element.querySelector('.quality-text')), `quality.${level}`);
  }

  /** Each connection's quality (every other tick) and who speaks (every tick). */
  async measure() {
    if (this.closed) return;
    this.ticks += 1;
    /** @type {Array<[string, number]>} */
    const levels = [];
    await Promise.all([...this.tiles.values()].filter((tile) => !tile.self).map(async (tile) => {
      const call = this.mesh.call(tile.participant);
      if (!call) return this.showQuality(tile, 'connecting');
      try {
        if (this.ticks % QUALITY_EVERY === 0) {
          const state = call.pc.connectionState;
          this.showQuality(tile, state === 'new' || state === 'connecting' ? 'connecting' : (await call.quality()).level);
        }
        if (tile.micOff) return;
        const stats = await call.pc.getStats();
        stats.forEach((report) => {
          if (report.type === 'inbound-rtp' && report.kind === 'audio' && typeof report.audioLevel === 'number') {
            levels.push([tile.participant, report.audioLevel]);
          }
        });
      } catch {
        this.showQuality(tile, 'none');
      }
    }));
    this.speaking(levels);
  }

  /**
   * The large tile follows whoever speaks, once they are the loudest twice
   * in a row (a cough does not move it); silence keeps the last speaker.
   * @param {Array<[string, number]>} levels
   */
  speaking(levels) {
    const [loudest] = levels.filter(([, level]) => level > SPEAKING).sort((a, b) => b[1] - a[1]);
    const who = loudest?.[0] ?? null;
    for (const tile of this.tiles.values()) tile.element.classList.toggle('speaking', tile.participant === who);
    if (who && who === this.loudest && who !== this.speaker) {
      this.speaker = who;
      if (!this.pinned) this.layout();
    }
    this.loudest = who;
  }

  /**
   * Whether video flows in the call now (for the anonymous figures: video or
   * sound only): a picture shows on any tile, this device's own camera or
   * shared screen, or anyone else's camera. Null while no one else is in the call.
   * @returns {boolean | null}
   */
  videoInCall() {
    const tiles = [...this.tiles.values()];
    if (!tiles.some((tile) => !tile.self)) return null;
    return tiles.some((tile) => tile.element.dataset.cameraOff === 'false');
  }

  close() {
    this.closed = true;
    clearInterval(this.timer);
    for (const [target, type, handler] of this.listeners) target.removeEventListener(type, handler);
    for (const tile of this.tiles.values()) tile.video.srcObject = null;
    this.tiles.clear();
    this.list.replaceChildren();
    $('#participants').replaceChildren();
  }
}
