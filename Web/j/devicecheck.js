// @ts-check
/**
 * The deltaker's device check (the `devices` view): camera preview, a
 * microphone level meter with "Vi hører deg" when sound arrives, a choice of
 * camera and microphone, and a plain message when the browser said no or
 * there is no device. Whatever is chosen here is the stream the call uses.
 */
import { openMedia, listDevices, deviceIdOf, stopMedia, rememberChoice, LevelMeter } from '/lib/devices.js';
import { $, attach, say } from '/lib/ui.js';
import { t } from '/lib/i18n.js';

/** The level (0…1) above which we say we hear them: well above room noise. */
const HEARD = 0.3;

export class DeviceCheck {
  constructor() {
    /** @type {MediaStream | null} */
    this.stream = null;
    /** @type {LevelMeter | null} */
    this.meter = null;
    /** @type {number | undefined} */
    this.timer = undefined;
    this.shown = 0;
    this.cameraSelect = /** @type {HTMLSelectElement} */ ($('#camera-select'));
    this.micSelect = /** @type {HTMLSelectElement} */ ($('#mic-select'));
    this.cameraSelect.addEventListener('change', () => this.open({ audio: this.micSelect.value || true, video: this.cameraSelect.value }));
    this.micSelect.addEventListener('change', () => this.open({ audio: this.micSelect.value, video: this.cameraSelect.value || this.hasVideo() }));
    $('#retry-devices').addEventListener('click', () => this.open({ audio: this.micSelect.value || true, video: this.cameraSelect.value || true }));
  }

  hasVideo() {
    return (this.stream?.getVideoTracks().length ?? 0) > 0;
  }

  /**
   * Opens the devices (again, after a choice) and shows what they give.
   * @param {{audio: boolean | string, video: boolean | string}} want
   */
  async open(want) {
    const retrying = document.activeElement === $('#retry-devices');
    this.stopMeter();
    stopMedia(this.stream);
    this.stream = null;
    const { stream, problem } = await openMedia(want);
    this.stream = stream;
    const preview = /** @type {HTMLVideoElement} */ ($('#preview'));
    attach(preview, stream);
    preview.hidden = !this.hasVideo();
    $('#no-camera').hidden = this.hasVideo();
    const message = $('#device-problem');
    message.hidden = !problem;
    if (problem) say(message, { denied: 'devices.denied', none: 'devices.noneFound', 'no-camera': 'devices.noCameraFound', busy: 'devices.busy', failed: 'devices.failed' }[problem]);
    $('#retry-devices').hidden = problem !== 'denied' && problem !== 'busy';
    $('#join-sound-only').hidden = !this.hasVideo();
    await this.fillChoices();
    if (stream?.getAudioTracks().length) this.startMeter(stream);
    else $('.level').hidden = true;
    // "Prøv igjen" worked and is gone: keep the keyboard on the way forward.
    if (retrying && $('#retry-devices').hidden) $('#join').focus();
  }

  /** The selects, from the browser's list (names are known once permission is given). */
  async fillChoices() {
    const { cameras, microphones } = await listDevices().catch(() => ({ cameras: [], microphones: [] }));
    /**
     * @param {HTMLSelectElement} select
     * @param {MediaDeviceInfo[]} devices
     * @param {string} current
     * @param {string} unnamed
     */
    const fill = (select, devices, current, unnamed) => {
      select.replaceChildren(...devices.map((device, index) => {
        const option = document.createElement('option');
        option.value = device.deviceId;
        option.textContent = device.label || t(unnamed, { n: index + 1 });
        option.selected = device.deviceId === current;
        return option;
      }));
      /** @type {HTMLElement} */ (select.parentElement).hidden = devices.length === 0;
    };
    // What is in use; when nothing is (the browser said no), what was chosen before.
    fill(this.cameraSelect, cameras, deviceIdOf(this.stream, 'video') || this.cameraSelect.value, 'devices.unnamedCamera');
    fill(this.micSelect, microphones, deviceIdOf(this.stream, 'audio') || this.micSelect.value, 'devices.unnamedMicrophone');
  }

  /** @param {MediaStream} stream */
  startMeter(stream) {
    const element = /** @type {HTMLMeterElement} */ ($('#mic-level'));
    const heard = $('#heard');
    $('.level').hidden = false;
    say(heard, 'devices.saysomething');
    element.dataset.peak = '0';
    try {
      this.meter = new LevelMeter(stream);
    } catch {
      $('.level').hidden = true;
      return;
    }
    const meter = this.meter;
    this.shown = 0;
    this.timer = setInterval(() => {
      const level = meter.level();
      // Falls back slowly, so short sounds stay visible.
      this.shown = Math.max(level, this.shown * 0.85);
      element.value = Math.round(this.shown * 100);
      element.dataset.peak = String(Math.max(Number(element.dataset.peak), element.value));
      if (level > HEARD && heard.dataset.i18n !== 'devices.heard') say(heard, 'devices.heard');
    }, 50);
  }

  stopMeter() {
    clearInterval(this.timer);
    this.meter?.close();
    this.meter = null;
  }

  /**
   * Done: the stream for the call, as chosen.
   * @param {{soundOnly?: boolean}} options  leave the camera out (optional)
   */
  finish({ soundOnly = false } = {}) {
    this.stopMeter();
    const stream = this.stream;
    if (stream && soundOnly) {
      for (const track of stream.getVideoTracks()) {
        track.stop();
        stream.removeTrack(track);
      }
    }
    attach(/** @type {HTMLVideoElement} */ ($('#preview')), null);
    rememberChoice(stream);
    return stream;
  }
}
