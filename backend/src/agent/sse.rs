//! Server-sent events, parsed from byte chunks split anywhere (inside a line, a field name or a
//! multi-byte character), as the WHATWG event-stream format defines them: `event:` and `data:`
//! fields, several `data:` lines joined by `\n`, comments starting with `:`, any of `\n`, `\r\n`
//! and `\r` ending a line, and a blank line dispatching the event.

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field; `None` means the default type, "message".
    pub event: Option<String>,
    pub data: String,
}

/// Incremental parser: feed it chunks as they arrive; it returns the events they complete.
#[derive(Debug, Default)]
pub struct SseParser {
    /// Bytes of the line not yet ended (kept, not reallocated, from line to line).
    line: Vec<u8>,
    /// A `\r` ended the previous chunk: a `\n` starting the next one belongs to it.
    after_cr: bool,
    event: Option<String>,
    data: Option<String>,
}

impl SseParser {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, mut chunk: &[u8]) -> Vec<SseEvent> {
        let mut events = Vec::new();
        if std::mem::take(&mut self.after_cr) && chunk.first() == Some(&b'\n') {
            chunk = &chunk[1..];
        }
        // Whole lines at a time: a line that the chunk holds entirely is read where it is.
        while let Some(end) = chunk.iter().position(|&byte| byte == b'\n' || byte == b'\r') {
            let ending = chunk[end];
            if self.line.is_empty() {
                self.field(&chunk[..end], &mut events);
            } else {
                self.line.extend_from_slice(&chunk[..end]);
                let line = std::mem::take(&mut self.line);
                self.field(&line, &mut events);
                self.line = line;
                self.line.clear();
            }
            chunk = &chunk[end + 1..];
            if ending == b'\r' {
                match chunk.first() {
                    Some(b'\n') => chunk = &chunk[1..],
                    Some(_) => {}
                    None => self.after_cr = true,
                }
            }
        }
        self.line.extend_from_slice(chunk);
        events
    }

    /// Handles one line (without its ending).
    fn field(&mut self, line: &[u8], events: &mut Vec<SseEvent>) {
        if line.is_empty() {
            if let Some(data) = self.data.take() {
                events.push(SseEvent { event: self.event.take(), data });
            }
            self.event = None;
            return;
        }
        let line = String::from_utf8_lossy(line);
        if line.starts_with(':') {
            return;
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line.as_ref(), ""),
        };
        match field {
            "event" => self.event = Some(value.to_owned()),
            "data" => match &mut self.data {
                Some(data) => {
                    data.push('\n');
                    data.push_str(value);
                }
                None => self.data = Some(value.to_owned()),
            },
            // `id` and `retry` matter to browsers reconnecting; an API stream does not reconnect.
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STREAM: &str = "event: message_start\ndata: {\"a\":1}\n\n: a comment\nevent: ping\ndata: {\"type\": \"ping\"}\n\nevent: content_block_delta\r\ndata: {\"text\":\"héllo 👋\"}\r\n\r\ndata: line one\ndata: line two\n\n";

    fn expected() -> Vec<SseEvent> {
        vec![
            SseEvent { event: Some("message_start".into()), data: "{\"a\":1}".into() },
            SseEvent { event: Some("ping".into()), data: "{\"type\": \"ping\"}".into() },
            SseEvent { event: Some("content_block_delta".into()), data: "{\"text\":\"héllo 👋\"}".into() },
            SseEvent { event: None, data: "line one\nline two".into() },
        ]
    }

    #[test]
    fn a_whole_stream_in_one_chunk_gives_every_event() {
        assert_eq!(SseParser::new().push(STREAM.as_bytes()), expected());
    }

    #[test]
    fn the_same_events_come_out_whatever_the_chunk_boundaries() {
        let bytes = STREAM.as_bytes();
        for size in 1..=bytes.len() {
            let mut parser = SseParser::new();
            let events: Vec<SseEvent> = bytes.chunks(size).flat_map(|chunk| parser.push(chunk)).collect();
            assert_eq!(events, expected(), "chunks of {size} bytes");
        }
    }

    #[test]
    fn every_split_point_of_a_multibyte_character_is_handled() {
        let bytes = STREAM.as_bytes();
        for split in 0..bytes.len() {
            let mut parser = SseParser::new();
            let mut events = parser.push(&bytes[..split]);
            events.extend(parser.push(&bytes[split..]));
            assert_eq!(events, expected(), "split at {split}");
        }
    }

    #[test]
    fn a_cr_ending_one_chunk_and_a_lf_starting_the_next_end_one_line_not_two() {
        let mut parser = SseParser::new();
        assert!(parser.push(b"data: 1\r").is_empty());
        assert_eq!(
            parser.push(b"\ndata: 2\r\r"),
            vec![SseEvent { event: None, data: "1\n2".into() }],
            "no blank line between the two data lines"
        );
        assert_eq!(parser.push(b"data: 3\r\n\r\n"), vec![SseEvent { event: None, data: "3".into() }]);
    }

    #[test]
    fn an_event_without_data_is_not_dispatched_and_an_unfinished_one_waits() {
        let mut parser = SseParser::new();
        assert!(parser.push(b"event: lonely\n\n").is_empty());
        assert!(parser.push(b"event: x\ndata: 1\n").is_empty(), "no blank line yet");
        assert_eq!(parser.push(b"\n"), vec![SseEvent { event: Some("x".into()), data: "1".into() }]);
    }
}
