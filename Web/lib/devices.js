// @ts-check
/**
 * Camera and microphone, without DOM: open them (a chosen device or any),
 * list them, and measure how loud the microphone is.
 *
 *     const { stream, problem } = await openMedia({ audio: true, video: true });
 *     const meter = new LevelMeter(stream);   // meter.level() → 0…1
 *     const { cameras, microphones } = await listDevices();
 *
 * `problem` is a stable code the page turns into words: `denied` (the
 * browser or the person said no), `none` (no camera and no microphone),
 * `no-camera` (sound only), `busy` (another program holds the device),
 * `failed` (anything else).
 */

/**
 * @typedef {'denied' | 'none' | 'no-camera' | 'busy' | 'failed'} MediaProblem
 * @typedef {boolean | string} Want  false: not at all; true: any device; a string: that deviceId
 */

const CHOICE_KEY = 'samrom.devices';

/**
 * @param {Want} want
 * @returns {boolean | MediaTrackConstraints}
 */
function constraint(want) {
  return typeof want === 'string' ? { deviceId: { exact: want } } : want;
}

/** @param {unknown} error @returns {MediaProblem} */
function classify(error) {
  const name = /** @type {{name?: string}} */ (error)?.name;
  if (name === 'NotAllowedError' || name === 'SecurityError') return 'denied';
  if (name === 'NotFoundError' || name === 'OverconstrainedError') return 'none';
  if (name === 'NotReadableError' || name === 'AbortError') return 'busy';
  return 'failed';
}

/**
 * Opens what is wanted; when camera and microphone together fail because one
 * of them is missing or busy, tries the microphone alone, so a person without
 * a camera still gets sound. A chosen device (a deviceId) that is gone is
 * replaced by any device of its kind.
 * @param {{audio: Want, video: Want}} want
 * @returns {Promise<{stream: MediaStream | null, problem: MediaProblem | null}>}
 */
export async function openMedia(want) {
  const opened = await openOnce(want);
  const chosen = typeof want.audio === 'string' || typeof want.video === 'string';
  if (opened.stream || opened.problem !== 'none' || !chosen) return opened;
  return openOnce({ audio: Boolean(want.audio), video: Boolean(want.video) });
}

/**
 * @param {{audio: Want, video: Want}} want
 * @returns {Promise<{stream: MediaStream | null, problem: MediaProblem | null}>}
 */
async function openOnce(want) {
  if (!globalThis.navigator?.mediaDevices?.getUserMedia) return { stream: null, problem: 'none' };
  if (!want.audio && !want.video) return { stream: null, problem: null };
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: constraint(want.audio), video: constraint(want.video) });
    return { stream, problem: null };
  } catch (error) {
    const problem = classify(error);
    if (problem === 'denied' || !want.video || !want.audio) return { stream: null, problem };
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: constraint(want.audio), video: false });
      return { stream, problem: problem === 'none' ? 'no-camera' : problem };
    } catch (second) {
      return { stream: null, problem: classify(second) };
    }
  }
}

/**
 * The cameras and microphones this browser has. Their names are only known
 * after permission was given (before that, labels are empty).
 * @returns {Promise<{cameras: MediaDeviceInfo[], microphones: MediaDeviceInfo[]}>}
 */
export async function listDevices() {
  const all = (await globalThis.navigator?.mediaDevices?.enumerateDevices?.()) ?? [];
  return {
    cameras: all.filter((device) => device.kind === 'videoinput' && device.deviceId),
    microphones: all.filter((device) => device.kind === 'audioinput' && device.deviceId),
  };
}

/**
 * The deviceId a stream's first track of a kind is using.
 * @param {MediaStream | null} stream
 * @param {'audio' | 'video'} kind
 */
export function deviceIdOf(stream, kind) {
  const track = kind === 'audio' ? stream?.getAudioTracks()[0] : stream?.getVideoTracks()[0];
  return track?.getSettings().deviceId ?? '';
}

/**
 * Remembers for this tab (sessionStorage) which camera and microphone are in
 * use, so a reload comes back with the same ones. Device ids are random per
 * site and browser profile; they say nothing about the person.
 * @param {MediaStream | null} stream
 */
export function rememberChoice(stream) {
  try {
    globalThis.sessionStorage?.setItem(CHOICE_KEY, JSON.stringify({ audio: deviceIdOf(stream, 'audio'), video: deviceIdOf(stream, 'video') }));
  } catch {
    // No storage: a reload takes the browser's default devices.
  }
}

/**
 * What to open after a reload: the devices chosen before (openMedia takes
 * any other when one is gone), else any.
 * @param {boolean} video  whether the camera was in use
 * @returns {{audio: Want, video: Want}}
 */
export function preferredDevices(video) {
  let chosen = { audio: '', video: '' };
  try {
    chosen = { ...chosen, ...JSON.parse(globalThis.sessionStorage?.getItem(CHOICE_KEY) ?? '{}') };
  } catch {
    // Nothing remembered.
  }
  /** @param {string} id @returns {Want} */
  const prefer = (id) => id || true;
  return { audio: prefer(chosen.audio), video: video ? prefer(chosen.video) : false };
}

/** Stops every track of a stream (the camera light goes out). */
export function stopMedia(/** @type {MediaStream | null | undefined} */ stream) {
  for (const track of stream?.getTracks() ?? []) track.stop();
}

/**
 * How loud the microphone is, from an AnalyserNode on a Web Audio graph that
 * goes nowhere (nothing is played back, nothing recorded).
 */
export class LevelMeter {
  /** @param {MediaStream} stream  with an audio track */
  constructor(stream) {
    this.context = new AudioContext();
    // Made after a click, so it may run; resume in case the browser started it suspended.
    this.context.resume().catch(() => {});
    this.source = this.context.createMediaStreamSource(stream);
    this.analyser = this.context.createAnalyser();
    this.analyser.fftSize = 1024;
    this.source.connect(this.analyser);
    this.samples = new Float32Array(this.analyser.fftSize);
  }

  /**
   * The current level, 0 (silence) to 1 (loud): the RMS of the last few
   * milliseconds on a 60 dB scale, which matches how loud speech feels.
   */
  level() {
    this.analyser.getFloatTimeDomainData(this.samples);
    let sum = 0;
    for (const sample of this.samples) sum += sample * sample;
    const rms = Math.sqrt(sum / this.samples.length);
    if (rms <= 0) return 0;
    const decibels = 20 * Math.log10(rms);
    return Math.min(1, Math.max(0, (decibels + 60) / 60));
  }

  close() {
    this.source.disconnect();
    this.context.close().catch(() => {});
  }
}
