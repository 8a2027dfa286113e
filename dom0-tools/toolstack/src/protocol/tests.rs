//! The protocol: frame round trips, junk, corruption, truncation, resync,
//! and whole exchanges (large files in chunks, lost frames, stale
//! sessions, console streaming).

use alloc::vec;

use super::frame::{HEADER_LEN, SOF};
use super::session::DEFAULT_MAX_REQUEST_BYTES;
use super::*;

/// xorshift64*, for reproducible pseudo-random data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn enc(kind: u8, seq: u16, session: u32, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    encode_frame(kind, seq, session, payload, &mut v);
    v
}

fn decode_all(bytes: &[u8]) -> (Vec<Frame>, Decoder) {
    let mut d = Decoder::new();
    let mut out = Vec::new();
    d.push(bytes, &mut out);
    (out, d)
}

#[test]
fn crc32_is_zlibs() {
    assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
    assert_eq!(crc32(b""), 0);
    assert_eq!(frame::crc32_update(crc32(b"1234"), b"56789"), 0xcbf4_3926);
}

#[test]
fn frame_round_trip_including_escape_bytes() {
    let mut rng = Rng(1);
    let payloads: Vec<Vec<u8>> = vec![
        vec![],
        b"hello".to_vec(),
        vec![0xff; 300],
        vec![0xff, 0x00, 0xff, b'X', 0xff, 0xff],
        rng.bytes(MAX_PAYLOAD),
        (0..=255u8).collect(),
    ];
    let mut stream = Vec::new();
    for (i, p) in payloads.iter().enumerate() {
        stream.extend(enc(0x81, i as u16, 0xdead_beef, p));
    }
    let (frames, d) = decode_all(&stream);
    assert_eq!(frames.len(), payloads.len());
    for (i, (f, p)) in frames.iter().zip(&payloads).enumerate() {
        assert_eq!((f.kind, f.seq, f.session, &f.payload), (0x81, i as u16, 0xdead_beef, p));
    }
    assert_eq!(d.stats().frames, payloads.len() as u64);
    assert_eq!(d.stats().junk_bytes, 0);
    // The stuffed body never holds FF followed by anything but 00.
    let body = &stream[2..];
    for w in body.windows(2) {
        if w[0] == 0xff && w[1] != 0 {
            assert_eq!(w[1], b'X', "only a start-of-frame may follow FF");
        }
    }
}

#[test]
fn header_layout_is_as_documented() {
    let f = enc(kind::EXIT, 0x0102, 0x0a0b_0c0d, &7i32.to_le_bytes());
    assert_eq!(&f[..2], &SOF);
    let body = &f[2..];
    assert_eq!(body[0], 1);
    assert_eq!(body[1], 0x84);
    assert_eq!(&body[2..4], &[0x02, 0x01]);
    assert_eq!(&body[4..8], &[0x0d, 0x0c, 0x0b, 0x0a]);
    assert_eq!(&body[8..12], &[4, 0, 0, 0]);
    assert_eq!(&body[12..16], &crc32(&body[..12]).to_le_bytes());
    assert_eq!(&body[16..20], &[7, 0, 0, 0]);
    assert_eq!(&body[20..24], &crc32(&[7, 0, 0, 0]).to_le_bytes());
    assert_eq!(f.len(), 2 + HEADER_LEN + 4 + 4);
}

#[test]
fn junk_between_frames_is_skipped_and_kept() {
    let mut s = b"Xen 4.17 booting...\r\n".to_vec();
    s.extend(enc(0x81, 0, 1, b"one"));
    s.extend_from_slice(b"dom0: \xff\xfe binary junk \xff");
    s.extend(enc(0x81, 1, 1, b"two"));
    s.extend_from_slice(b"trailing");
    let (frames, mut d) = decode_all(&s);
    assert_eq!(frames.iter().map(|f| f.payload.as_slice()).collect::<Vec<_>>(), [b"one", b"two"]);
    let junk = d.take_junk();
    assert_eq!(junk, b"Xen 4.17 booting...\r\ndom0: \xff\xfe binary junk \xfftrailing".to_vec());
    assert!(d.take_junk().is_empty());
}

#[test]
fn a_corrupted_payload_drops_only_that_frame() {
    let good1 = enc(0x81, 0, 1, b"first");
    let mut bad = enc(0x81, 1, 1, b"second");
    let n = bad.len();
    bad[n - 6] ^= 0x01; // in the payload
    let good2 = enc(0x81, 2, 1, b"third");
    let (frames, d) = decode_all(&[good1, bad, good2].concat());
    assert_eq!(frames.iter().map(|f| f.payload.as_slice()).collect::<Vec<_>>(), [&b"first"[..], b"third"]);
    assert_eq!(d.stats().bad_payloads, 1);
}

#[test]
fn a_corrupted_header_drops_only_that_frame() {
    let mut bad = enc(0x81, 0, 1, b"x");
    bad[2 + 9] ^= 0x40; // the length
    let good = enc(0x81, 1, 1, b"y");
    let (frames, d) = decode_all(&[bad, good].concat());
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].payload, b"y");
    assert_eq!(d.stats().bad_headers, 1);
}

#[test]
fn a_truncated_frame_does_not_swallow_the_next() {
    // A frame cut short (the sender died mid-frame, announcing 64 KiB),
    // then a small frame: the new start-of-frame resynchronises at once.
    let big = enc(0x01, 0, 9, &vec![0x55; MAX_PAYLOAD]);
    let small = enc(0x01, 0, 10, b"ls");
    let (frames, d) = decode_all(&[&big[..1000], &small[..]].concat());
    assert_eq!(frames.len(), 1);
    assert_eq!((frames[0].session, frames[0].payload.as_slice()), (10, &b"ls"[..]));
    assert_eq!(d.stats().truncated, 1);
    // Cut inside the header, and cut after an escape byte.
    let ff = enc(0x01, 0, 9, &[0xff; 10]);
    for cut in [1, 5, HEADER_LEN, HEADER_LEN + 3, HEADER_LEN + 4] {
        let (frames, _) = decode_all(&[&ff[..cut], &small[..]].concat());
        assert_eq!(frames.len(), 1, "cut at {}", cut);
        assert_eq!(frames[0].payload, b"ls");
    }
}

#[test]
fn feeding_byte_by_byte_equals_feeding_at_once() {
    let mut rng = Rng(7);
    let mut s = Vec::new();
    for i in 0..20 {
        let junk = rng.below(50);
        s.extend(rng.bytes(junk));
        let n = rng.below(3000);
        s.extend(enc(0x82, i, 3, &rng.bytes(n)));
    }
    let (all, _) = decode_all(&s);
    let mut d = Decoder::new();
    let one: Vec<Frame> = s.iter().filter_map(|&b| d.feed(b)).collect();
    assert_eq!(all, one);
    assert_eq!(all.len(), 20);
}

#[test]
fn random_damage_never_yields_a_wrong_frame() {
    let mut rng = Rng(42);
    for round in 0..300 {
        let originals: Vec<Vec<u8>> = (0..8)
            .map(|_| {
                let n = rng.below(600);
                rng.bytes(n)
            })
            .collect();
        let mut s = Vec::new();
        for (i, p) in originals.iter().enumerate() {
            s.extend(enc(0x81, i as u16, round, p));
        }
        // Flip, drop, insert and truncate at random.
        for _ in 0..rng.below(6) {
            let at = rng.below(s.len());
            match rng.below(4) {
                0 => s[at] ^= 1 << rng.below(8),
                1 => {
                    s.remove(at);
                }
                2 => s.insert(at, rng.next() as u8),
                _ => s.truncate(at),
            }
            if s.is_empty() {
                break;
            }
        }
        let (frames, _) = decode_all(&s);
        for f in frames {
            assert_eq!(f.session, round);
            assert_eq!(f.payload, originals[usize::from(f.seq)], "round {}", round);
        }
    }
}

#[test]
fn messages_round_trip() {
    let host = [
        ToDom0::Request { argv: vec!["create".into(), "-c".into(), "h.cfg".into(), "name=\"ü\"".into()] },
        ToDom0::File { name: "/boot/k".into(), size: 8 << 20, crc: 0x1234_5678 },
        ToDom0::Data(vec![1, 2, 3]),
        ToDom0::End,
        ToDom0::Input(b"ls\r".to_vec()),
        ToDom0::Detach,
    ];
    for m in host {
        let (k, p) = m.to_payload();
        assert_eq!(ToDom0::from_frame(k, &p).unwrap(), Some(m));
    }
    let dom0 = [
        ToHost::Accepted,
        ToHost::Stdout(b"out".to_vec()),
        ToHost::Stderr(b"err".to_vec()),
        ToHost::Console(DomId(3)),
        ToHost::Exit(-2),
    ];
    for m in dom0 {
        let (k, p) = m.to_payload();
        assert_eq!(ToHost::from_frame(k, &p).unwrap(), Some(m));
    }
    assert_eq!(ToDom0::from_frame(0x7f, b"future"), Ok(None));
    assert!(ToDom0::from_frame(kind::REQUEST, &[2, 0, 5, 0, b'a']).is_err());
    assert!(ToDom0::from_frame(kind::END, &[0]).is_err());
    assert!(ToHost::from_frame(kind::EXIT, &[0, 0]).is_err());
}

/// Runs bytes through a server and returns its events and reply bytes.
fn serve(server: &mut Server, bytes: &[u8]) -> (Vec<ServerEvent>, Vec<u8>) {
    let mut reply = Vec::new();
    let ev = server.receive(bytes, &mut reply);
    (ev, reply)
}

#[test]
fn exchange_with_an_8_mib_kernel() {
    let mut rng = Rng(99);
    let kernel = rng.bytes(8 << 20);
    let config = b"name='big'\nkernel='vmlinuz'\n".to_vec();
    let req = Request {
        argv: vec!["create".into(), "big.cfg".into()],
        files: vec![
            RequestFile { name: "big.cfg".into(), data: config.clone() },
            RequestFile { name: "vmlinuz".into(), data: kernel.clone() },
        ],
    };
    let mut client = Client::new(0x5eed);
    let wire = client.encode_request(&req).unwrap();
    // REQUEST + 2 FILE + 1 + 128 DATA + END frames.
    let (frames, _) = decode_all(&wire);
    assert_eq!(frames.len(), 1 + 2 + 1 + 128 + 1);
    assert!(frames.iter().all(|f| f.payload.len() <= MAX_PAYLOAD));

    let mut server = Server::default();
    // Boot noise first, and the request in odd-sized pieces.
    let (ev, reply) = serve(&mut server, b"dom0: starting xl server\n");
    assert!(ev.is_empty() && reply.is_empty());
    let mut events = Vec::new();
    let mut reply = Vec::new();
    for chunk in wire.chunks(7777) {
        events.extend(server.receive(chunk, &mut reply));
    }
    assert_eq!(events.len(), 1);
    let ServerEvent::Request(got) = &events[0] else { panic!("{:?}", events) };
    assert_eq!(got, &req);
    assert_eq!(got.file("vmlinuz"), Some(kernel.as_slice()));
    assert_eq!(got.file("nope"), None);
    assert!(server.running());

    reply.extend(server.stdout(b"Parsing config from big.cfg\n"));
    reply.extend(server.stderr(&vec![b'e'; MAX_PAYLOAD + 10]));
    reply.extend(server.exit(0));
    assert!(!server.running());
    let ev = client.receive(&reply);
    assert_eq!(ev[0], ClientEvent::Accepted);
    assert_eq!(ev[1], ClientEvent::Stdout(b"Parsing config from big.cfg\n".to_vec()));
    assert_eq!(ev[2], ClientEvent::Stderr(vec![b'e'; MAX_PAYLOAD]));
    assert_eq!(ev[3], ClientEvent::Stderr(vec![b'e'; 10]));
    assert_eq!(ev[4], ClientEvent::Exit(0));
    assert!(client.finished());
}

/// Splits a wire stream into its frames' wire bytes.
fn wire_frames(wire: &[u8]) -> Vec<Vec<u8>> {
    let mut starts: Vec<usize> = wire.windows(2).enumerate().filter(|(_, w)| *w == SOF).map(|(i, _)| i).collect();
    starts.push(wire.len());
    starts.windows(2).map(|w| wire[w[0]..w[1]].to_vec()).collect()
}

#[test]
fn a_lost_data_frame_rejects_the_request() {
    let req = Request {
        argv: vec!["create".into(), "a.cfg".into()],
        files: vec![RequestFile { name: "k".into(), data: vec![0xab; 3 * MAX_PAYLOAD] }],
    };
    let mut client = Client::new(77);
    let frames = wire_frames(&client.encode_request(&req).unwrap());
    let damaged: Vec<u8> = frames.iter().enumerate().filter(|(i, _)| *i != 3).flat_map(|(_, f)| f.clone()).collect();
    let mut server = Server::default();
    let (ev, reply) = serve(&mut server, &damaged);
    assert_eq!(ev, [ServerEvent::Rejected("request damaged in transit (1 frame(s) lost); please retry".into())]);
    let ev = client.receive(&reply);
    assert_eq!(
        ev,
        [
            ClientEvent::Stderr(b"xl: request damaged in transit (1 frame(s) lost); please retry\n".to_vec()),
            ClientEvent::Exit(1)
        ]
    );
}

#[test]
fn a_corrupted_data_frame_is_a_lost_frame() {
    let req = Request {
        argv: vec!["create".into(), "a.cfg".into()],
        files: vec![RequestFile { name: "k".into(), data: vec![0x11; 2 * MAX_PAYLOAD] }],
    };
    let mut wire = Client::new(5).encode_request(&req).unwrap();
    wire[40_000] ^= 0x10;
    let (ev, _) = serve(&mut Server::default(), &wire);
    assert!(matches!(&ev[..], [ServerEvent::Rejected(r)] if r.contains("lost")), "{:?}", ev);
}

#[test]
fn a_file_with_a_wrong_checksum_or_size_is_refused() {
    let mut wire = Vec::new();
    let (k, p) = ToDom0::Request { argv: vec!["create".into()] }.to_payload();
    encode_frame(k, 0, 8, &p, &mut wire);
    let (k, p) = ToDom0::File { name: "k".into(), size: 4, crc: crc32(b"abcd") }.to_payload();
    encode_frame(k, 1, 8, &p, &mut wire);
    encode_frame(kind::DATA, 2, 8, b"abce", &mut wire);
    encode_frame(kind::END, 3, 8, &[], &mut wire);
    let (ev, _) = serve(&mut Server::default(), &wire);
    assert_eq!(ev, [ServerEvent::Rejected("request damaged in transit ('k' fails its checksum)".into())]);

    let mut wire = Vec::new();
    let (k, p) = ToDom0::Request { argv: vec!["create".into()] }.to_payload();
    encode_frame(k, 0, 8, &p, &mut wire);
    let (k, p) = ToDom0::File { name: "k".into(), size: 5, crc: crc32(b"abcd") }.to_payload();
    encode_frame(k, 1, 8, &p, &mut wire);
    encode_frame(kind::DATA, 2, 8, b"abcd", &mut wire);
    encode_frame(kind::END, 3, 8, &[], &mut wire);
    let (ev, _) = serve(&mut Server::default(), &wire);
    assert_eq!(ev, [ServerEvent::Rejected("request damaged in transit ('k': 4 of 5 bytes arrived)".into())]);
}

#[test]
fn an_oversized_request_is_refused_before_its_data() {
    let req = Request {
        argv: vec!["create".into(), "a.cfg".into()],
        files: vec![RequestFile { name: "huge.img".into(), data: vec![0; 3 << 20] }],
    };
    let mut client = Client::new(1);
    let wire = client.encode_request(&req).unwrap();
    let mut server = Server::new(2 << 20);
    let (ev, reply) = serve(&mut server, &wire[..200]);
    assert_eq!(
        ev,
        [ServerEvent::Rejected("request too large: 'huge.img' brings it to 3 MiB, dom0 accepts at most 2 MiB".into())]
    );
    // The rest of that session is ignored.
    let (ev, more) = serve(&mut server, &wire[200..]);
    assert!(ev.is_empty() && more.is_empty());
    let ev = client.receive(&reply);
    assert_eq!(ev.last(), Some(&ClientEvent::Exit(1)));
    assert_eq!(DEFAULT_MAX_REQUEST_BYTES, 256 << 20);
}

#[test]
fn console_session() {
    let mut client = Client::new(0xc0);
    let mut server = Server::default();
    let (ev, mut reply) = serve(&mut server, &client.encode_request(&Request::new(&["console", "hello"])).unwrap());
    assert!(matches!(&ev[..], [ServerEvent::Request(r)] if r.argv == ["console", "hello"]));
    reply.extend(server.console(DomId(4)));
    reply.extend(server.stdout(b"login: "));
    assert_eq!(
        client.receive(&reply),
        [ClientEvent::Accepted, ClientEvent::Console(DomId(4)), ClientEvent::Stdout(b"login: ".to_vec())]
    );
    let (ev, reply) = serve(&mut server, &client.encode_input(b"root\r"));
    assert_eq!((ev, reply), (vec![ServerEvent::Input(b"root\r".to_vec())], vec![]));
    let big = vec![b'y'; MAX_PAYLOAD + 1];
    let (ev, _) = serve(&mut server, &client.encode_input(&big));
    assert_eq!(ev, [ServerEvent::Input(vec![b'y'; MAX_PAYLOAD]), ServerEvent::Input(vec![b'y'])]);
    let (ev, _) = serve(&mut server, &client.encode_detach());
    assert_eq!(ev, [ServerEvent::Detach]);
    assert_eq!(client.receive(&server.exit(0)), [ClientEvent::Exit(0)]);
    // After the exit, stray input of the old session is ignored.
    let (ev, _) = serve(&mut server, &client.encode_input(b"late"));
    assert!(ev.is_empty());
}

#[test]
fn a_new_request_abandons_the_running_one() {
    let mut old = Client::new(1);
    let mut server = Server::default();
    let (_, _) = serve(&mut server, &old.encode_request(&Request::new(&["console", "a"])).unwrap());
    let stale_output = [server.console(DomId(1)), server.stdout(b"old output")].concat();
    assert!(server.running());

    let mut new = Client::new(2);
    let (ev, reply) = serve(&mut server, &new.encode_request(&Request::new(&["list"])).unwrap());
    assert!(matches!(&ev[..], [ServerEvent::Abandoned, ServerEvent::Request(r)] if r.argv == ["list"]));
    // The new client ignores what is left of the old session on the line.
    let mut bytes = stale_output;
    bytes.extend(reply);
    bytes.extend(server.stdout(b"new output"));
    bytes.extend(server.exit(0));
    assert_eq!(
        new.receive(&bytes),
        [ClientEvent::Accepted, ClientEvent::Stdout(b"new output".to_vec()), ClientEvent::Exit(0)]
    );
    assert_eq!(new.stale_frames, 2);
}

#[test]
fn the_client_notices_lost_answer_frames() {
    let mut client = Client::new(3);
    let mut server = Server::default();
    let (_, accepted) = serve(&mut server, &client.encode_request(&Request::new(&["dmesg"])).unwrap());
    let a = server.stdout(b"line 1\n");
    let _lost = server.stdout(b"line 2\n");
    let c = server.exit(0);
    let ev = client.receive(&[accepted, a, c].concat());
    assert_eq!(
        ev,
        [
            ClientEvent::Accepted,
            ClientEvent::Stdout(b"line 1\n".to_vec()),
            ClientEvent::Lost { frames: 1 },
            ClientEvent::Exit(0)
        ]
    );
}

#[test]
fn over_long_arguments_are_refused_by_the_client() {
    let long = "x".repeat(70_000);
    assert!(Client::new(1).encode_request(&Request::new(&[long.as_str()])).is_err());
    let many: Vec<String> = (0..20_000).map(|i| i.to_string()).collect();
    assert!(Client::new(1).encode_request(&Request::new(&many)).is_err());
}
