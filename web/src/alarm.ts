/**
 * The new-assignment alarm: a vibration and a beep made with WebAudio (no sound file). Browsers allow
 * both only after the user has touched the page once, so the audio context is made on the first touch or
 * key, and the alarm says whether it could sound (the page then asks for that touch).
 */

type AudioCtor = typeof AudioContext;
let ctx: AudioContext | null = null;

function audioContext(): AudioContext | null {
  if (ctx) return ctx;
  const Ctor = (window.AudioContext ?? (window as unknown as { webkitAudioContext?: AudioCtor }).webkitAudioContext) as AudioCtor | undefined;
  if (!Ctor) return null;
  try {
    ctx = new Ctor();
  } catch {
    return null;
  }
  return ctx;
}

/** True once the user has touched the page: before that, browsers refuse sound and vibration. */
export function activated(): boolean {
  const ua = (navigator as Navigator & { userActivation?: { hasBeenActive: boolean } }).userActivation;
  return ua ? ua.hasBeenActive : ctx !== null;
}

/** Makes the audio context on the first touch or key (what browsers require), once. */
export function unlockOnFirstGesture(onUnlocked: () => void): void {
  const unlock = () => {
    for (const ev of ["pointerdown", "keydown"]) document.removeEventListener(ev, unlock, true);
    void audioContext()?.resume();
    onUnlocked();
  };
  for (const ev of ["pointerdown", "keydown"]) document.addEventListener(ev, unlock, true);
}

/** Three rising double beeps, about a second and a half. */
function beep(ac: AudioContext): void {
  const start = ac.currentTime + 0.02;
  const gain = ac.createGain();
  gain.connect(ac.destination);
  gain.gain.setValueAtTime(0, start);
  for (let i = 0; i < 6; i++) {
    const t0 = start + i * 0.25;
    const osc = ac.createOscillator();
    osc.type = "square";
    osc.frequency.setValueAtTime(i % 2 ? 1320 : 880, t0);
    osc.connect(gain);
    gain.gain.setValueAtTime(0.0001, t0);
    gain.gain.exponentialRampToValueAtTime(0.35, t0 + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, t0 + 0.2);
    osc.start(t0);
    osc.stop(t0 + 0.21);
  }
}

/** Sounds and vibrates when the browser allows it; says whether it could. */
export function ring(): boolean {
  if (!activated()) return false;
  try {
    navigator.vibrate?.([400, 150, 400, 150, 800]);
  } catch {
    // No vibration on this device.
  }
  const ac = audioContext();
  if (!ac) return false;
  void ac.resume();
  beep(ac);
  return true;
}
