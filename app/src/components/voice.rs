//! Spoken replies in the page.
//!
//! Under each voice reply, a player treats the reply's ready clips as one timeline: play/pause,
//! a seek bar with elapsed and total time, a speed choice, and the transcript, clip by clip, with
//! a failed clip marked and a "Retry". Every clip has its own `<audio>`; the one playing and the
//! next are fetched ahead, and the next starts as the current one ends, so a reply plays through
//! without a gap, and a live reply keeps going as its clips arrive.
//!
//! Whether a live reply starts by itself is decided once per run by [`ChatState`] (it knows which
//! run streams live and what the user chose); the player only carries out its request, so a
//! remount or a history load never plays anything. Where the browser refuses to start without a
//! click, the player shows a "Play" button instead of staying silent.
//!
//! Also here: the voice settings (on/off, voice, speaking rate, autoplay), stored per user.

use jarvis_types::voice::{Clip, ClipStatus, MAX_SPEED, MIN_SPEED, VoiceOptions, VoiceSettings};
use leptos::prelude::*;

use crate::components::chat::{ChatState, UiMessage};
use crate::documents::error_message;
use crate::voice::{load_voice_options, save_voice_settings};

/// The playback rates the player offers: the select's value, and its label.
pub const RATES: [(&str, &str); 5] =
    [("0.75", "0.75×"), ("1", "1×"), ("1.25", "1.25×"), ("1.5", "1.5×"), ("2", "2×")];

/// Puts `clip` in its place among `clips` (kept in `seq` order): it replaces the clip with the
/// same `seq` (a retried or re-announced one), or goes between its neighbours.
pub fn upsert_clip(clips: &mut Vec<Clip>, clip: Clip) {
    match clips.binary_search_by_key(&clip.seq, |c| c.seq) {
        Ok(index) => clips[index] = clip,
        Err(index) => clips.insert(index, clip),
    }
}

/// One ready clip on the timeline of its reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub seq: u32,
    pub url: String,
    /// Where the clip starts in the whole reply.
    pub start_ms: u64,
    pub duration_ms: u64,
}

/// The ready clips of a reply, in order, as one recording.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Timeline {
    parts: Vec<Part>,
}

impl Timeline {
    /// Failed clips take no time: they are skipped until a retry makes them ready.
    pub fn new(clips: &[Clip]) -> Self {
        let mut ready: Vec<&Clip> = clips.iter().filter(|c| c.status == ClipStatus::Ready).collect();
        ready.sort_by_key(|c| c.seq);
        let mut start_ms = 0;
        let parts = ready
            .into_iter()
            .map(|clip| {
                let part =
                    Part { seq: clip.seq, url: clip.url.clone(), start_ms, duration_ms: clip.duration_ms };
                start_ms += clip.duration_ms;
                part
            })
            .collect();
        Self { parts }
    }

    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    pub fn total_ms(&self) -> u64 {
        self.parts.last().map_or(0, |p| p.start_ms + p.duration_ms)
    }

    pub fn first(&self) -> Option<u32> {
        self.parts.first().map(|p| p.seq)
    }

    pub fn part(&self, seq: u32) -> Option<&Part> {
        self.parts.iter().find(|p| p.seq == seq)
    }

    /// The clip that plays after clip `seq` (which need not be on the timeline).
    pub fn next_after(&self, seq: u32) -> Option<u32> {
        self.parts.iter().find(|p| p.seq > seq).map(|p| p.seq)
    }

    /// The clip heard at `position_ms` of the whole reply, and how far into it; past the end,
    /// the end of the last clip.
    pub fn locate(&self, position_ms: u64) -> Option<(u32, u64)> {
        let last = self.parts.last()?;
        let found = self
            .parts
            .iter()
            .find(|p| position_ms < p.start_ms + p.duration_ms)
            .map(|p| (p.seq, position_ms - p.start_ms));
        Some(found.unwrap_or((last.seq, last.duration_ms)))
    }

    /// The position in the whole reply of `offset_ms` into clip `seq` (0 before any clip).
    pub fn position(&self, seq: Option<u32>, offset_ms: u64) -> u64 {
        seq.and_then(|seq| self.part(seq)).map_or(0, |p| p.start_ms + offset_ms.min(p.duration_ms))
    }
}

/// `m:ss`.
pub fn clock(ms: u64) -> String {
    let seconds = ms / 1000;
    format!("{}:{:02}", seconds / 60, seconds % 60)
}

/// The select's value for a playback rate (`1` for 1.0, `0.75`…).
fn rate_value(rate: f64) -> String {
    RATES
        .iter()
        .map(|(value, _)| *value)
        .find(|value| value.parse::<f64>().is_ok_and(|v| (v - rate).abs() < 1e-6))
        .unwrap_or("1")
        .to_owned()
}

/// The player of one reply: signals only, so `Copy`.
#[derive(Clone, Copy)]
struct Player {
    /// The message's key: which player of the page is the one playing.
    key: u64,
    state: ChatState,
    root: NodeRef<leptos::html::Div>,
    timeline: Memo<Timeline>,
    /// The reply is the run this page is streaming.
    live: Memo<bool>,
    /// The clip under the play head (`None`: before the first).
    current: RwSignal<Option<u32>>,
    /// How far into the current clip.
    offset_ms: RwSignal<u64>,
    /// Playing, or waiting for the next clip of a live reply.
    playing: RwSignal<bool>,
    /// The browser refused to start without a click: the "Play" prompt shows.
    blocked: RwSignal<bool>,
    /// Played (or seeked) once: the current and next clips are fetched ahead.
    engaged: RwSignal<bool>,
    /// A clip that could not be played.
    failure: RwSignal<Option<String>>,
}

impl Player {
    fn elapsed_ms(self) -> u64 {
        self.timeline.with(|t| t.position(self.current.get(), self.offset_ms.get()))
    }

    fn total_ms(self) -> u64 {
        self.timeline.with(Timeline::total_ms)
    }

    /// `auto` for the clip under the play head and the next one once the reply is being
    /// listened to (or streams live), so that one follows the other without a gap; `none`
    /// otherwise, so that a long history fetches no audio nobody asked for.
    fn preload(self, seq: u32) -> &'static str {
        if !(self.engaged.get() || self.live.get()) {
            return "none";
        }
        let near = self.timeline.with(|t| {
            let current = self.current.get().or_else(|| t.first());
            current == Some(seq) || current.and_then(|c| t.next_after(c)) == Some(seq)
        });
        if near { "auto" } else { "none" }
    }

    /// Plays clip `seq`, from `at_ms` into it (or from where it stands), pausing every other.
    fn play_from(self, seq: u32, at_ms: Option<u64>) {
        self.current.set(Some(seq));
        if let Some(at_ms) = at_ms {
            self.offset_ms.set(at_ms);
        }
        self.playing.set(true);
        self.blocked.set(false);
        self.failure.set(None);
        self.engaged.set(true);
        self.state.now_playing.set(Some(self.key));
        #[cfg(feature = "hydrate")]
        self.start(seq, at_ms, true);
    }

    fn pause(self) {
        self.playing.set(false);
        #[cfg(feature = "hydrate")]
        if let Some(audio) = self.current.get_untracked().and_then(|seq| self.audio(seq)) {
            let _ = audio.pause();
        }
    }

    fn toggle(self) {
        if self.playing.get_untracked() {
            return self.pause();
        }
        let Some(first) = self.timeline.with_untracked(Timeline::first) else { return };
        let current = self
            .current
            .get_untracked()
            .filter(|seq| self.timeline.with_untracked(|t| t.part(*seq).is_some()));
        match current {
            // Played to its end: on to the next clip, or from the start again.
            Some(seq) if self.finished(seq) => {
                let next = self.timeline.with_untracked(|t| t.next_after(seq));
                self.play_from(next.unwrap_or(first), Some(0));
            }
            Some(seq) => self.play_from(seq, None),
            None => self.play_from(first, Some(0)),
        }
    }

    /// Moves the play head to `position_ms` of the whole reply.
    fn seek(self, position_ms: u64) {
        let Some((seq, offset_ms)) = self.timeline.with_untracked(|t| t.locate(position_ms)) else { return };
        if self.playing.get_untracked() {
            return self.play_from(seq, Some(offset_ms));
        }
        self.current.set(Some(seq));
        self.offset_ms.set(offset_ms);
        self.engaged.set(true);
        #[cfg(feature = "hydrate")]
        {
            self.pause_others(seq);
            if let Some(audio) = self.audio(seq) {
                audio.set_current_time(offset_ms as f64 / 1000.0);
            }
        }
    }

    /// Clip `seq` played to its end.
    fn ended(self, seq: u32) {
        if self.current.get_untracked() != Some(seq) {
            return;
        }
        if let Some(duration_ms) = self.timeline.with_untracked(|t| t.part(seq).map(|p| p.duration_ms)) {
            self.offset_ms.set(duration_ms);
        }
        self.advance(seq);
    }

    /// After clip `seq`: the next one, or, while the reply streams, wait for it.
    fn advance(self, seq: u32) {
        match self.timeline.with_untracked(|t| t.next_after(seq)) {
            Some(next) if self.playing.get_untracked() => self.play_from(next, Some(0)),
            Some(_) => {}
            None if !self.live.get_untracked() => self.playing.set(false),
            // The next clip of the live reply is on its way; it starts when it arrives.
            None => {}
        }
    }

    /// Whether clip `seq` played to its end.
    fn finished(self, seq: u32) -> bool {
        #[cfg(feature = "hydrate")]
        {
            self.audio(seq).is_some_and(|audio| audio.ended())
        }
        #[cfg(not(feature = "hydrate"))]
        {
            let _ = seq;
            false
        }
    }

    fn on_time(self, seq: u32, event: &leptos::ev::Event) {
        #[cfg(feature = "hydrate")]
        if self.current.get_untracked() == Some(seq) {
            let audio = event_target::<web_sys::HtmlMediaElement>(event);
            self.offset_ms.set((audio.current_time() * 1000.0).max(0.0) as u64);
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (seq, event);
    }

    /// Played or paused from outside the page (the browser's or the system's media controls).
    fn on_play_state(self, seq: u32, event: &leptos::ev::Event) {
        #[cfg(feature = "hydrate")]
        if self.current.get_untracked() == Some(seq) {
            let audio = event_target::<web_sys::HtmlMediaElement>(event);
            if !audio.paused() {
                self.playing.set(true);
                self.blocked.set(false);
                self.state.now_playing.set(Some(self.key));
            } else if !audio.ended() {
                self.playing.set(false);
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (seq, event);
    }

    /// The audio of clip `seq` could not be fetched or decoded: say so, and go on past it.
    fn on_error(self, seq: u32) {
        if self.current.get_untracked() == Some(seq) && self.playing.get_untracked() {
            self.failure.set(Some("A part of this reply could not be played.".to_owned()));
            match self.timeline.with_untracked(|t| t.next_after(seq)) {
                Some(next) => self.play_from(next, Some(0)),
                None => self.playing.set(false),
            }
        }
    }
}

#[cfg(feature = "hydrate")]
impl Player {
    fn audio(self, seq: u32) -> Option<web_sys::HtmlMediaElement> {
        use leptos::wasm_bindgen::JsCast;
        let root = self.root.get_untracked()?;
        root.query_selector(&format!("audio[data-seq=\"{seq}\"]")).ok().flatten()?.dyn_into().ok()
    }

    /// Every clip's audio of this reply, with its `seq`.
    fn audios(self) -> Vec<(u32, web_sys::HtmlMediaElement)> {
        use leptos::wasm_bindgen::JsCast;
        let Some(list) = self.root.get_untracked().and_then(|root| root.query_selector_all("audio").ok())
        else {
            return Vec::new();
        };
        (0..list.length())
            .filter_map(|i| list.item(i))
            .filter_map(|node| node.dyn_into::<web_sys::HtmlMediaElement>().ok())
            .filter_map(|audio| Some((audio.get_attribute("data-seq")?.parse().ok()?, audio)))
            .collect()
    }

    fn pause_others(self, seq: u32) {
        for (other, audio) in self.audios() {
            if other != seq && !audio.paused() {
                let _ = audio.pause();
            }
        }
    }

    /// Starts the element of clip `seq`. Its element may not be in the page yet when the clip
    /// has only just arrived: then once more at the next frame.
    fn start(self, seq: u32, at_ms: Option<u64>, again: bool) {
        use leptos::wasm_bindgen::{JsValue, closure::Closure};
        if self.current.try_get_untracked() != Some(Some(seq)) {
            return;
        }
        self.pause_others(seq);
        let Some(audio) = self.audio(seq) else {
            if again {
                request_animation_frame(move || self.start(seq, at_ms, false));
            } else {
                self.playing.set(false);
            }
            return;
        };
        let rate = self.state.playback_rate.get_untracked();
        audio.set_default_playback_rate(rate);
        audio.set_playback_rate(rate);
        if let Some(at_ms) = at_ms {
            audio.set_current_time(at_ms as f64 / 1000.0);
        }
        match audio.play() {
            Ok(promise) => {
                // Kept alive for whenever the promise settles (a few bytes per start).
                let rejected =
                    Closure::<dyn FnMut(JsValue)>::new(move |error: JsValue| self.refused(seq, &error));
                let _ = promise.catch(&rejected);
                rejected.forget();
            }
            Err(error) => self.refused(seq, &error),
        }
    }

    /// `play()` failed. Interrupted by a pause or another start: nothing to tell. The audio is
    /// unusable: say so. Anything else is the browser refusing to play without a click: show the
    /// "Play" prompt rather than stay silent.
    fn refused(self, seq: u32, error: &leptos::wasm_bindgen::JsValue) {
        if self.current.try_get_untracked() != Some(Some(seq)) {
            return;
        }
        let name = js_sys::Reflect::get(error, &"name".into()).ok().and_then(|name| name.as_string());
        match name.as_deref() {
            Some("AbortError") => {}
            Some("NotSupportedError") => {
                self.playing.set(false);
                self.failure.set(Some("This reply's audio could not be played.".to_owned()));
            }
            _ => {
                self.playing.set(false);
                self.blocked.set(true);
            }
        }
    }
}

/// The player and transcript of one reply.
#[component]
pub fn VoicePlayer(message: RwSignal<UiMessage>) -> impl IntoView {
    let state = expect_context::<ChatState>();
    let (key, run_id) = message.with_untracked(|m| (m.key, m.run_id.clone()));
    let timeline = Memo::new(move |_| message.with(|m| Timeline::new(&m.clips)));
    let live = {
        let run_id = run_id.clone();
        Memo::new(move |_| {
            run_id.is_some() && state.active.with(|a| a.as_ref().map(|a| &a.run_id) == run_id.as_ref())
        })
    };
    let player = Player {
        key,
        state,
        root: NodeRef::new(),
        timeline,
        live,
        current: RwSignal::new(None),
        offset_ms: RwSignal::new(0),
        playing: RwSignal::new(false),
        blocked: RwSignal::new(false),
        engaged: RwSignal::new(false),
        failure: RwSignal::new(None),
    };

    // The chat asks for a live reply to start by itself once; the request is used up here, so a
    // player made again later (a remount, a history load) finds none.
    {
        let run_id = run_id.clone();
        Effect::new(move |_| {
            let requested = state
                .autoplay_request
                .with(|request| request.is_some() && request.as_ref() == run_id.as_ref());
            if !requested {
                return;
            }
            let Some(first) = timeline.with(Timeline::first) else { return };
            state.autoplay_request.set(None);
            player.play_from(first, Some(0));
        });
    }
    // A clip arrived (or the run ended) while the player waited at the end of the last one.
    Effect::new(move |_| {
        timeline.track();
        live.track();
        if !player.playing.get_untracked() {
            return;
        }
        if let Some(seq) = player.current.get_untracked().filter(|seq| player.finished(*seq)) {
            player.advance(seq);
        }
    });
    // One reply speaks at a time.
    Effect::new(move |_| {
        let now = state.now_playing.get();
        if now != Some(key) && player.playing.get_untracked() {
            player.pause();
        }
    });
    // The chosen speed, for every clip.
    Effect::new(move |_| {
        let rate = state.playback_rate.get();
        timeline.track();
        #[cfg(feature = "hydrate")]
        for (_, audio) in player.audios() {
            audio.set_default_playback_rate(rate);
            audio.set_playback_rate(rate);
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = rate;
    });

    let empty = move || timeline.with(|t| t.parts().is_empty());
    let initial_rate = rate_value(state.playback_rate.get_untracked());
    view! {
        <div
            node_ref=player.root
            class="mt-3 rounded-lg bg-slate-50 px-3 py-2 ring-1 ring-slate-200"
            role="group"
            aria-label="Spoken reply"
            data-testid="voice-player"
            data-run-id=run_id.unwrap_or_default()
            data-playing=move || player.playing.get().to_string()
        >
            <For each=move || timeline.with(|t| t.parts().to_vec()) key=|part| (part.seq, part.url.clone()) let(part)>
                {
                    let seq = part.seq;
                    view! {
                        <audio
                            src=part.url
                            preload=move || player.preload(seq)
                            data-testid="voice-audio"
                            data-seq=seq.to_string()
                            on:ended=move |_| player.ended(seq)
                            on:timeupdate=move |ev| player.on_time(seq, &ev)
                            on:play=move |ev| player.on_play_state(seq, &ev)
                            on:pause=move |ev| player.on_play_state(seq, &ev)
                            on:error=move |_| player.on_error(seq)
                        ></audio>
                    }
                }
            </For>
            <div class="flex flex-wrap items-center gap-2 text-sm">
                <button
                    type="button"
                    class="flex h-8 w-8 shrink-0 items-center justify-center rounded-full bg-indigo-600 text-white hover:bg-indigo-500 disabled:bg-slate-300"
                    data-testid="voice-toggle"
                    aria-label=move || if player.playing.get() { "Pause" } else { "Play" }
                    disabled=empty
                    on:click=move |_| player.toggle()
                >
                    <span aria-hidden="true">{move || if player.playing.get() { "❚❚" } else { "▶" }}</span>
                </button>
                <input
                    type="range"
                    class="min-w-[6rem] flex-1 accent-indigo-600"
                    data-testid="voice-seek"
                    aria-label="Position"
                    aria-valuetext=move || format!("{} of {}", clock(player.elapsed_ms()), clock(player.total_ms()))
                    min="0"
                    max=move || player.total_ms().to_string()
                    step="100"
                    value="0"
                    prop:value=move || player.elapsed_ms().to_string()
                    disabled=empty
                    on:input=move |ev| {
                        if let Ok(position) = event_target_value(&ev).parse::<f64>() {
                            player.seek(position.max(0.0) as u64);
                        }
                    }
                />
                <span class="shrink-0 text-xs tabular-nums text-slate-600" data-testid="voice-time">
                    {move || format!("{} / {}", clock(player.elapsed_ms()), clock(player.total_ms()))}
                </span>
                <select
                    class="shrink-0 rounded border border-slate-300 bg-white px-1 py-0.5 text-xs"
                    data-testid="voice-speed"
                    aria-label="Playback speed"
                    prop:value=move || rate_value(state.playback_rate.get())
                    on:change=move |ev| {
                        if let Ok(rate) = event_target_value(&ev).parse::<f64>() {
                            state.playback_rate.set(rate);
                        }
                    }
                >
                    {RATES
                        .iter()
                        .map(|(value, label)| {
                            view! { <option value=*value selected={*value == initial_rate.as_str()}>{*label}</option> }
                        })
                        .collect_view()}
                </select>
            </div>
            <Show when=move || player.blocked.get()>
                <div class="mt-2 flex items-center gap-3 text-sm text-slate-700">
                    <button
                        type="button"
                        class="rounded-lg bg-indigo-600 px-4 py-1.5 font-semibold text-white hover:bg-indigo-500"
                        data-testid="voice-play-prompt"
                        on:click=move |_| player.toggle()
                    >
                        "Play"
                    </button>
                    <span>"Your browser needs a click to play this reply."</span>
                </div>
            </Show>
            {move || player.failure.get().map(|failure| view! {
                <p role="alert" class="mt-2 text-xs text-rose-700">{failure}</p>
            })}
            <details open class="mt-2 text-xs text-slate-600">
                <summary class="cursor-pointer select-none text-slate-500">"Transcript"</summary>
                <ol class="mt-1 space-y-1">
                    <For
                        each=move || message.with(|m| m.clips.clone())
                        key=|clip| (clip.id.clone(), clip.status == ClipStatus::Ready, clip.error.clone())
                        let(clip)
                    >
                        <TranscriptLine message clip current=player.current />
                    </For>
                </ol>
            </details>
        </div>
    }
    .into_any()
}

/// What one clip says; a failed one is marked, with a "Retry".
#[component]
fn TranscriptLine(message: RwSignal<UiMessage>, clip: Clip, current: RwSignal<Option<u32>>) -> impl IntoView {
    let seq = clip.seq;
    let failed = clip.status == ClipStatus::Failed;
    let retrying = RwSignal::new(false);
    let retry_error = RwSignal::new(None::<String>);
    let retry = {
        let id = clip.id.clone();
        move |_| {
            if retrying.get_untracked() {
                return;
            }
            retrying.set(true);
            retry_error.set(None);
            #[cfg(feature = "hydrate")]
            {
                let id = id.clone();
                leptos::task::spawn_local(async move {
                    let result = client::retry_clip(&id).await;
                    let _ = retrying.try_set(false);
                    match result {
                        // Still failed: its new error shows; ready: it joins the timeline.
                        Ok(clip) => message.update(|m| upsert_clip(&mut m.clips, clip)),
                        Err(error) => {
                            let _ = retry_error.try_set(Some(error));
                        }
                    }
                });
            }
            #[cfg(not(feature = "hydrate"))]
            let _ = (&id, message);
        }
    };
    let class = move || {
        if current.get() == Some(seq) && !failed {
            "rounded px-1 text-slate-900 bg-indigo-50"
        } else {
            "px-1"
        }
    };
    view! {
        <li
            class=class
            data-testid="voice-transcript"
            data-seq=seq.to_string()
            data-status=if failed { "failed" } else { "ready" }
        >
            <span>{clip.transcript.clone()}</span>
            {failed.then(|| view! {
                <span class="ml-2 rounded bg-rose-100 px-1.5 py-0.5 font-medium text-rose-800">"failed"</span>
                {clip.error.clone().map(|error| view! { <span class="ml-1 text-rose-700">{error}</span> })}
                <button
                    type="button"
                    class="ml-2 rounded px-2 py-0.5 text-rose-800 ring-1 ring-rose-300 hover:bg-rose-50 disabled:opacity-60"
                    data-testid="voice-retry"
                    aria-label=format!("Retry speaking: {}", clip.transcript)
                    disabled=move || retrying.get()
                    on:click=retry
                >
                    {move || if retrying.get() { "Retrying…" } else { "Retry" }}
                </button>
                {move || retry_error.get().map(|error| view! { <span role="alert" class="ml-2 text-rose-700">{error}</span> })}
            })}
        </li>
    }
    .into_any()
}

#[cfg(feature = "hydrate")]
mod client {
    //! The browser half: asking the server to speak a failed clip again.

    use jarvis_types::voice::{Clip, clip_url};

    /// `POST /api/clips/{id}/retry`: the clip as it is now (ready, or failed again with a new
    /// error), or a sentence for the user.
    pub async fn retry_clip(id: &str) -> Result<Clip, String> {
        let unreachable = || "The clip could not be retried. Check your connection and try again.".to_owned();
        let response = gloo_net::http::Request::post(&format!("{}/retry", clip_url(id)))
            .send()
            .await
            .map_err(|_| unreachable())?;
        let status = response.status();
        if status == 200 {
            return response.json::<Clip>().await.map_err(|_| unreachable());
        }
        // The server's sentence when it gave one (`{"error", "message"}`).
        let message = response
            .json::<serde_json::Value>()
            .await
            .ok()
            .and_then(|body| body.get("message")?.as_str().map(str::to_owned));
        Err(message.unwrap_or_else(|| match status {
            404 => "This clip no longer exists.".to_owned(),
            _ => format!("The clip could not be made again ({status}). Try again later."),
        }))
    }
}

/// The chat header's button that shows or hides the voice settings.
#[component]
pub fn VoiceSettingsButton(open: RwSignal<bool>) -> impl IntoView {
    view! {
        <button
            type="button"
            class=move || format!(
                "rounded-md px-2 py-1 text-sm ring-1 {}",
                if open.get() { "bg-indigo-50 text-indigo-800 ring-indigo-300" } else { "text-slate-700 ring-slate-300 hover:bg-slate-50" },
            )
            data-testid="voice-settings-button"
            aria-expanded=move || open.get().to_string()
            aria-controls="voice-settings"
            on:click=move |_| open.update(|open| *open = !*open)
        >
            <span aria-hidden="true">"🔊 "</span>
            "Voice"
        </button>
    }
    .into_any()
}

/// The voice settings, under the chat's header. The settings normally came with the page; if
/// they did not, they are loaded when this opens.
#[component]
pub fn VoiceSettingsPanel(open: RwSignal<bool>) -> impl IntoView {
    let state = expect_context::<ChatState>();
    let load_error = RwSignal::new(None::<String>);
    let status = RwSignal::new(None::<Result<String, String>>);
    let load = move || {
        load_error.set(None);
        leptos::task::spawn_local(async move {
            match load_voice_options().await {
                Ok(options) => state.voice.set(Some(options)),
                Err(error) => {
                    let _ = load_error.try_set(Some(error_message(&error)));
                }
            }
        });
    };
    Effect::new(move |_| {
        if state.voice.with_untracked(Option::is_none) {
            load();
        }
    });
    let loaded = Memo::new(move |_| state.voice.with(Option::is_some));
    view! {
        <section id="voice-settings" aria-label="Voice settings" class="border-b border-slate-200 bg-white px-4 py-3">
            {move || {
                if loaded.get() {
                    state
                        .voice
                        .get_untracked()
                        .map(|options| view! { <VoiceSettingsForm options open status /> }.into_any())
                } else if let Some(error) = load_error.get() {
                    Some(view! {
                        <p role="alert" class="text-sm text-rose-700">
                            {error}
                            <button type="button" class="ml-2 underline" on:click=move |_| load()>"Try again"</button>
                        </p>
                    }.into_any())
                } else {
                    Some(view! { <p class="text-sm text-slate-500">"Loading…"</p> }.into_any())
                }
            }}
        </section>
    }
    .into_any()
}

#[component]
fn VoiceSettingsForm(
    options: VoiceOptions,
    open: RwSignal<bool>,
    status: RwSignal<Option<Result<String, String>>>,
) -> impl IntoView {
    let state = expect_context::<ChatState>();
    let settings = options.settings;
    let enabled = RwSignal::new(settings.enabled);
    let voice = RwSignal::new(settings.voice.clone());
    let speed = RwSignal::new(settings.speed);
    let autoplay = RwSignal::new(settings.autoplay);
    let saving = RwSignal::new(false);
    let mut voices = options.voices;
    if !settings.voice.is_empty() && !voices.contains(&settings.voice) {
        voices.insert(0, settings.voice.clone());
    }
    let no_voices = voices.is_empty();
    let engine_note = if options.engine == "off" {
        "This server speaks no replies at the moment; your choices are kept for when it does.".to_owned()
    } else {
        format!("Voice engine: {}", options.engine)
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if saving.get_untracked() {
            return;
        }
        let draft = VoiceSettings {
            enabled: enabled.get_untracked(),
            voice: voice.get_untracked(),
            speed: speed.get_untracked().clamp(MIN_SPEED, MAX_SPEED),
            autoplay: autoplay.get_untracked(),
        };
        saving.set(true);
        status.set(None);
        leptos::task::spawn_local(async move {
            let result = save_voice_settings(draft).await;
            let _ = saving.try_set(false);
            match result {
                Ok(saved) => {
                    let _ = enabled.try_set(saved.enabled);
                    let _ = voice.try_set(saved.voice.clone());
                    let _ = speed.try_set(saved.speed);
                    let _ = autoplay.try_set(saved.autoplay);
                    state.voice.update(|options| {
                        if let Some(options) = options {
                            options.settings = saved;
                        }
                    });
                    let _ = status.try_set(Some(Ok("Saved.".to_owned())));
                }
                Err(error) => {
                    let _ = status.try_set(Some(Err(error_message(&error))));
                }
            }
        });
    };
    let initial_voice = settings.voice;
    view! {
        <form class="grid gap-3 sm:grid-cols-2" data-testid="voice-settings" on:submit=submit>
            <p class="text-xs text-slate-500 sm:col-span-2">{engine_note}</p>
            <label class="flex items-center gap-2 text-sm text-slate-800">
                <input
                    type="checkbox"
                    data-testid="voice-enabled"
                    prop:checked=move || enabled.get()
                    on:change=move |ev| enabled.set(event_target_checked(&ev))
                />
                "Speak replies"
            </label>
            <label class="flex items-center gap-2 text-sm text-slate-800">
                <input
                    type="checkbox"
                    data-testid="voice-autoplay"
                    prop:checked=move || autoplay.get()
                    on:change=move |ev| autoplay.set(event_target_checked(&ev))
                />
                "Play new replies automatically"
            </label>
            <label class="flex flex-col gap-1 text-sm text-slate-800">
                "Voice"
                <select
                    class="rounded-md border border-slate-300 bg-white px-2 py-1"
                    data-testid="voice-voice"
                    disabled=no_voices
                    on:change=move |ev| voice.set(event_target_value(&ev))
                >
                    {voices
                        .into_iter()
                        .map(|name| {
                            let selected = name == initial_voice;
                            let label = name.clone();
                            view! { <option value=name selected=selected>{label}</option> }
                        })
                        .collect_view()}
                </select>
            </label>
            <label class="flex flex-col gap-1 text-sm text-slate-800">
                <span>
                    "Speaking rate "
                    <output class="tabular-nums text-slate-600">{move || format!("{:.2}×", speed.get())}</output>
                </span>
                <input
                    type="range"
                    class="accent-indigo-600"
                    data-testid="voice-speed-setting"
                    min=MIN_SPEED.to_string()
                    max=MAX_SPEED.to_string()
                    step="0.05"
                    prop:value=move || speed.get().to_string()
                    on:input=move |ev| {
                        if let Ok(value) = event_target_value(&ev).parse::<f32>() {
                            speed.set(value.clamp(MIN_SPEED, MAX_SPEED));
                        }
                    }
                />
            </label>
            <div class="flex flex-wrap items-center gap-3 sm:col-span-2">
                <button
                    type="submit"
                    class="rounded-lg bg-indigo-600 px-4 py-1.5 text-sm font-semibold text-white hover:bg-indigo-500 disabled:opacity-60"
                    data-testid="voice-save"
                    disabled=move || saving.get()
                >
                    {move || if saving.get() { "Saving…" } else { "Save" }}
                </button>
                <button type="button" class="text-sm text-slate-600 hover:underline" on:click=move |_| open.set(false)>
                    "Close"
                </button>
                {move || status.get().map(|status| match status {
                    Ok(message) => view! { <span role="status" class="text-sm text-emerald-700">{message}</span> }.into_any(),
                    Err(message) => view! { <span role="alert" class="text-sm text-rose-700">{message}</span> }.into_any(),
                })}
            </div>
        </form>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clip(seq: u32, duration_ms: u64, status: ClipStatus) -> Clip {
        Clip {
            id: format!("c{seq}"),
            run_id: "r".into(),
            seq,
            transcript: format!("Sentence {seq}."),
            duration_ms,
            content_type: "audio/mpeg".into(),
            url: format!("/api/clips/c{seq}"),
            status,
            error: (status == ClipStatus::Failed).then(|| "The voice engine failed.".to_owned()),
        }
    }

    #[test]
    fn the_timeline_joins_ready_clips_and_skips_failed_ones() {
        let timeline = Timeline::new(&[
            clip(3, 1500, ClipStatus::Ready),
            clip(1, 1000, ClipStatus::Ready),
            clip(2, 0, ClipStatus::Failed),
        ]);
        assert_eq!(
            timeline.parts().iter().map(|p| (p.seq, p.start_ms)).collect::<Vec<_>>(),
            [(1, 0), (3, 1000)]
        );
        assert_eq!(timeline.total_ms(), 2500);
        assert_eq!(timeline.first(), Some(1));
        assert_eq!(timeline.next_after(1), Some(3));
        assert_eq!(timeline.next_after(2), Some(3));
        assert_eq!(timeline.next_after(3), None);
    }

    #[test]
    fn a_position_maps_to_a_clip_and_back() {
        let timeline = Timeline::new(&[clip(1, 1000, ClipStatus::Ready), clip(2, 2000, ClipStatus::Ready)]);
        assert_eq!(timeline.locate(0), Some((1, 0)));
        assert_eq!(timeline.locate(999), Some((1, 999)));
        assert_eq!(timeline.locate(1000), Some((2, 0)));
        assert_eq!(timeline.locate(2500), Some((2, 1500)));
        assert_eq!(timeline.locate(9000), Some((2, 2000)));
        assert_eq!(timeline.position(Some(2), 1500), 2500);
        assert_eq!(timeline.position(Some(1), 5000), 1000);
        assert_eq!(timeline.position(None, 700), 0);
        assert_eq!(Timeline::default().locate(10), None);
    }

    #[test]
    fn clips_are_kept_in_order_and_replaced_by_seq() {
        let mut clips = vec![clip(1, 1000, ClipStatus::Ready), clip(3, 1000, ClipStatus::Ready)];
        upsert_clip(&mut clips, clip(2, 0, ClipStatus::Failed));
        upsert_clip(&mut clips, clip(2, 800, ClipStatus::Ready));
        assert_eq!(
            clips.iter().map(|c| (c.seq, c.status)).collect::<Vec<_>>(),
            [(1, ClipStatus::Ready), (2, ClipStatus::Ready), (3, ClipStatus::Ready)]
        );
    }

    /// A reply loaded from history renders its player on the server: one audio per ready clip,
    /// fetched only when asked for, every transcript line, the failed clip with its retry.
    #[test]
    fn a_reply_from_history_renders_its_player() {
        use jarvis_types::chat::{ChatMessageView, ConversationView};
        use leptos::tachys::view::RenderHtml;

        let reply = ChatMessageView {
            id: "m2".into(),
            role: "assistant".into(),
            text: "Sentence 1. Sentence 2. Sentence 3.".into(),
            tools: Vec::new(),
            partial: false,
            run_id: Some("r".into()),
            clips: vec![
                clip(3, 1500, ClipStatus::Ready),
                clip(1, 62_000, ClipStatus::Ready),
                clip(2, 0, ClipStatus::Failed),
            ],
            refused: false,
        };
        let open = ConversationView {
            id: "c".into(),
            title: "Talk".into(),
            messages: vec![reply],
            running_run_id: None,
        };
        let html = Owner::new().with(|| {
            view! { <crate::components::chat::Chat conversations=Vec::new() open=Some(open) library=Default::default() voice=None /> }
                .to_html()
        });
        assert!(html.contains(r#"data-testid="voice-player""#), "{html}");
        assert!(html.contains(r#"data-run-id="r""#));
        assert_eq!(html.matches(r#"data-testid="voice-audio""#).count(), 2);
        assert!(html.contains(r#"src="/api/clips/c1""#));
        assert!(!html.contains(r#"preload="auto""#));
        assert_eq!(html.matches(r#"data-testid="voice-transcript""#).count(), 3);
        assert_eq!(html.matches(r#"data-testid="voice-retry""#).count(), 1);
        assert!(html.contains("0:00 / 1:03"));
        assert!(html.contains(r#"data-testid="voice-settings-button""#));
        assert!(!html.contains("voice-play-prompt"));
    }

    #[test]
    fn times_and_rates_read_as_people_write_them() {
        assert_eq!(clock(0), "0:00");
        assert_eq!(clock(61_999), "1:01");
        assert_eq!(clock(600_000), "10:00");
        assert_eq!(rate_value(1.0), "1");
        assert_eq!(rate_value(0.75), "0.75");
        assert_eq!(rate_value(3.0), "1");
    }
}
