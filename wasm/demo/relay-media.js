// Media over `callseal relay`'s binary channel, as through an SFU: the
// camera and microphone encoded with WebCodecs (VP8, Opus), each chunk
// sealed by the page's E2eeWorker (`seal`, media mode) and sent as one
// frame; frames received are opened by the worker (`open`) and decoded.
// Used by the call page (media=relay) and the meeting page; a relay that
// intercepts (`--mitm`) can re-encrypt these frames, unlike WebRTC media
// sent peer to peer.

const isVp8Key = (bytes) => (bytes[0] & 1) === 0;

// Reads a track's frames (VideoFrame or AudioData) until it ends.
async function pump(track, each) {
  if (!track) return;
  const reader = new MediaStreamTrackProcessor({ track }).readable.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    each(value);
  }
}

/**
 * Sends `local` (a MediaStream) to `to` (a relay name or `#room`) and
 * decodes what arrives from senders `accept(from)` admits. Callbacks:
 * `onFrame(codec, from)` for each frame opened, `onDecoded(kind, from)` for
 * each video frame or audio chunk decoded, `onOpenFailure(code, from)`,
 * `onError(message)`. Returns `stop()`.
 */
export function relayMedia({ e2ee, relay, local, to, accept, onFrame = () => {}, onDecoded = () => {}, onOpenFailure = () => {}, onError = () => {} }) {
  const [video] = local.getVideoTracks();
  const [audio] = local.getAudioTracks();
  let stopped = false;
  const sealAndSend = async (codec, chunk) => {
    const payload = new Uint8Array(chunk.byteLength);
    chunk.copyTo(payload);
    try {
      const { frame } = await e2ee.seal({ codec, payload });
      if (!stopped) relay.sendFrame(to, frame);
    } catch {
      // No key yet: nothing leaves in clear.
    }
  };
  const videoEncoder = new VideoEncoder({
    output: (chunk) => sealAndSend('video/VP8', chunk),
    error: (err) => onError(`video encoder: ${err.message}`),
  });
  videoEncoder.configure({ codec: 'vp8', width: 320, height: 240, bitrate: 300_000, framerate: 15 });
  const audioEncoder = new AudioEncoder({
    output: (chunk) => sealAndSend('audio/opus', chunk),
    error: (err) => onError(`audio encoder: ${err.message}`),
  });
  let frames = 0;
  pump(video, (frame) => {
    // A key frame every 2 s: a receiver that joins late starts there.
    if (!stopped && videoEncoder.encodeQueueSize < 4) videoEncoder.encode(frame, { keyFrame: frames % 30 === 0 });
    frames += 1;
    frame.close();
  });
  pump(audio, (data) => {
    // Configured from the first AudioData: the microphone's rate and channels.
    if (audioEncoder.state === 'unconfigured') {
      audioEncoder.configure({ codec: 'opus', sampleRate: data.sampleRate, numberOfChannels: data.numberOfChannels, bitrate: 32000 });
    }
    if (!stopped && audioEncoder.encodeQueueSize < 8) audioEncoder.encode(data);
    data.close();
  });

  // One pair of decoders per sender.
  const decoders = new Map();
  function decodersOf(from) {
    let d = decoders.get(from);
    if (d) return d;
    const video = new VideoDecoder({
      output: (frame) => {
        onDecoded('video', from);
        frame.close();
      },
      error: (err) => onError(`video decoder (${from}): ${err.message}`),
    });
    video.configure({ codec: 'vp8' });
    const audio = new AudioDecoder({
      output: (data) => {
        onDecoded('audio', from);
        data.close();
      },
      error: (err) => onError(`audio decoder (${from}): ${err.message}`),
    });
    audio.configure({ codec: 'opus', sampleRate: 48000, numberOfChannels: 1 });
    d = { video, audio, keySeen: false, t: 0 };
    decoders.set(from, d);
    return d;
  }

  const onMessage = async (event) => {
    const { from, bytes } = event.detail;
    if (stopped || !accept(from)) return;
    let opened;
    try {
      opened = await e2ee.open({ frame: bytes });
    } catch (err) {
      onOpenFailure(err.code, from);
      return;
    }
    onFrame(opened.codec, from);
    const d = decodersOf(from);
    d.t += 1;
    if (opened.codec === 'VP8') {
      const key = isVp8Key(opened.payload);
      d.keySeen ||= key;
      if (!d.keySeen || d.video.state !== 'configured') return;
      d.video.decode(new EncodedVideoChunk({ type: key ? 'key' : 'delta', timestamp: d.t * 1000, data: opened.payload }));
    } else if (opened.codec === 'Opus' && d.audio.state === 'configured') {
      d.audio.decode(new EncodedAudioChunk({ type: 'key', timestamp: d.t * 1000, data: opened.payload }));
    }
  };
  relay.addEventListener('frame', onMessage);
  return function stop() {
    stopped = true;
    relay.removeEventListener('frame', onMessage);
    for (const coder of [videoEncoder, audioEncoder]) if (coder.state !== 'closed') coder.close();
    for (const d of decoders.values()) for (const coder of [d.video, d.audio]) if (coder.state !== 'closed') coder.close();
  };
}
