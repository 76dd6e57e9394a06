//! The view of one reply's player: the hidden `<audio>` of each ready clip, play/pause, the seek
//! bar with elapsed and total time, the speed choice, the "Play" prompt when the browser wants a
//! click, and the transcript (collapsed). It starts by itself only when the page's [`Playback`] asks it to.

use jarvis_types::voice::{Clip, ClipStatus};
use leptos::prelude::*;

use super::context::VoiceState;
use super::playback::Playback;
use super::player::Player;
use super::timeline::{RATES, Timeline, clock, rate_value};
use super::transcript::TranscriptLine;

/// The player and transcript of one reply: `message_key` is the reply's message key (which
/// player of the page plays), `clips` its clips in `seq` order, `live` whether it is the run this
/// page streams, and `on_clip` takes a clip made again by "Retry".
#[component]
pub fn VoicePlayer(
    message_key: u64,
    run_id: Option<String>,
    #[prop(into)] clips: Signal<Vec<Clip>>,
    #[prop(into)] live: Signal<bool>,
    on_clip: Callback<Clip>,
) -> impl IntoView {
    let voice = expect_context::<VoiceState>();
    let timeline = Memo::new(move |_| clips.with(|clips| Timeline::new(clips)));
    let key = message_key;
    let player = Player::new(key, voice, timeline, live);
    let current = Memo::new(move |_| player.head.with(|head| head.current));
    let now_playing = Memo::new(move |_| voice.playback.with(Playback::now_playing));
    let rate = Memo::new(move |_| voice.playback.with(Playback::rate));

    // The chat asks for a live reply to start by itself once; the request is used up here, so a
    // player made again later (a remount, a history load) finds none.
    {
        let run_id = run_id.clone();
        Effect::new(move |_| {
            let requested = voice.playback.with(|playback| playback.is_requested(run_id.as_deref()));
            if !requested {
                return;
            }
            let Some(first) = timeline.with(Timeline::first) else { return };
            voice.playback.update(Playback::take_request);
            player.play_from(first, Some(0));
        });
    }
    // A clip arrived (or the run ended) while the player waited at the end of the last one.
    Effect::new(move |_| {
        timeline.track();
        live.track();
        player.resume_if_waiting();
    });
    // One reply speaks at a time.
    Effect::new(move |_| {
        let now = now_playing.get();
        if now != Some(key) && player.head.with_untracked(|head| head.playing) {
            player.pause();
        }
    });
    // The chosen speed, for every clip.
    Effect::new(move |_| {
        let rate = rate.get();
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
    let initial_rate = rate_value(voice.playback.with_untracked(Playback::rate));
    view! {
        <div
            node_ref=player.root
            class="mt-3 rounded-lg bg-slate-50 px-3 py-2 ring-1 ring-slate-200"
            role="group"
            aria-label="Spoken reply"
            data-testid="voice-player"
            data-run-id=run_id.unwrap_or_default()
            data-playing=move || player.playing().to_string()
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
                    aria-label=move || if player.playing() { "Pause" } else { "Play" }
                    disabled=empty
                    on:click=move |_| player.toggle()
                >
                    <span aria-hidden="true">{move || if player.playing() { "❚❚" } else { "▶" }}</span>
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
                    prop:value=move || rate_value(rate.get())
                    on:change=move |ev| {
                        if let Ok(rate) = event_target_value(&ev).parse::<f64>() {
                            voice.playback.update(|playback| playback.set_rate(rate));
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
            <Show when=move || player.head.with(|head| head.blocked)>
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
            {move || player.head.with(|head| head.failure.clone()).map(|failure| view! {
                <p role="alert" class="mt-2 text-xs text-rose-700">{failure}</p>
            })}
            // Closed by default: the transcript repeats the reply above it. A failed clip is
            // counted in the summary, so its "Retry" is not missed.
            <details class="mt-2 text-xs text-slate-600" data-testid="voice-transcript-details">
                <summary class="cursor-pointer select-none text-slate-500">
                    {move || clips.with(|clips| transcript_summary(clips))}
                </summary>
                <ol class="mt-1 space-y-1">
                    <For
                        each=move || clips.get()
                        key=|clip| (clip.id.clone(), clip.status == ClipStatus::Ready, clip.error.clone())
                        let(clip)
                    >
                        <TranscriptLine clip current on_clip />
                    </For>
                </ol>
            </details>
        </div>
    }
    .into_any()
}

/// The transcript's summary: "Transcript", with the failed clips counted.
fn transcript_summary(clips: &[Clip]) -> String {
    match clips.iter().filter(|clip| clip.status == ClipStatus::Failed).count() {
        0 => "Transcript".to_owned(),
        1 => "Transcript (1 clip failed)".to_owned(),
        failed => format!("Transcript ({failed} clips failed)"),
    }
}

#[cfg(test)]
mod tests {
    use jarvis_types::voice::ClipStatus;

    use super::transcript_summary;
    use crate::components::voice::fixtures::clip;

    #[test]
    fn the_transcript_summary_counts_failed_clips() {
        assert_eq!(transcript_summary(&[clip(1, 900, ClipStatus::Ready)]), "Transcript");
        assert_eq!(
            transcript_summary(&[clip(1, 900, ClipStatus::Ready), clip(2, 0, ClipStatus::Failed)]),
            "Transcript (1 clip failed)"
        );
        assert_eq!(
            transcript_summary(&[clip(1, 0, ClipStatus::Failed), clip(2, 0, ClipStatus::Failed)]),
            "Transcript (2 clips failed)"
        );
    }

    /// The transcript renders collapsed, with every line inside it.
    #[cfg(feature = "ssr")]
    #[test]
    fn the_transcript_renders_collapsed() {
        use leptos::prelude::*;
        use leptos::tachys::view::RenderHtml;

        use crate::components::voice::{VoicePlayer, VoiceState};

        let html = Owner::new().with(|| {
            provide_context(VoiceState::new(None));
            let clips = vec![clip(1, 900, ClipStatus::Ready), clip(2, 0, ClipStatus::Failed)];
            view! {
                <VoicePlayer message_key=1 run_id=None clips=Signal::stored(clips) live=Signal::stored(false) on_clip=Callback::new(|_| ()) />
            }
            .to_html()
        });
        let details = html.find("<details").expect("a transcript");
        let tag_end = details + html[details..].find('>').expect("the tag ends");
        assert!(!html[details..tag_end].contains("open"), "{html}");
        assert!(html.contains("Transcript (1 clip failed)"), "{html}");
        assert_eq!(html.matches(r#"data-testid="voice-transcript""#).count(), 2);
    }
}
