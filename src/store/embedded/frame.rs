//! One event-log record on disk: `len u32 LE | crc32 u32 LE | payload`,
//! payload = `seq u64 LE | received_ms i64 LE | raw body`. The checksum
//! covers the length and the payload, so a torn or overwritten record (even
//! one whose length field was hit) is told apart from a complete one.

/// Header bytes before the payload.
pub const HEADER: usize = 8;
/// seq + received_ms.
const FIXED: usize = 16;
/// Larger than any body the webhook accepts (1 MiB), so a length beyond it
/// is damage, not a record.
pub const MAX_PAYLOAD: usize = FIXED + 4 * 1024 * 1024;

/// A record as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub seq: u64,
    pub received_ms: i64,
    pub body: Vec<u8>,
}

/// Bytes `encode` writes for a body of `body_len` bytes.
pub fn encoded_len(body_len: usize) -> usize {
    HEADER + FIXED + body_len
}

/// Append the framed record to `out`.
pub fn encode(out: &mut Vec<u8>, seq: u64, received_ms: i64, body: &[u8]) {
    let len = (FIXED + body.len()) as u32;
    let start = out.len();
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&received_ms.to_le_bytes());
    out.extend_from_slice(body);
    let crc = checksum(&out[start..start + 4], &out[start + HEADER..]);
    out[start + 4..start + HEADER].copy_from_slice(&crc.to_le_bytes());
}

fn checksum(len: &[u8], payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(len);
    h.update(payload);
    h.finalize()
}

/// What the bytes at the front of a buffer hold.
#[derive(Debug, PartialEq, Eq)]
pub enum Decoded {
    /// A complete record and the bytes it took.
    Record(Record, usize),
    /// Nothing left (or only zeros: space never written).
    End,
    /// A record cut short: the buffer ends inside it.
    Torn,
    /// Bytes that are not a record (bad checksum or impossible length).
    Corrupt(&'static str),
}

pub fn decode(buf: &[u8]) -> Decoded {
    if buf.is_empty() {
        return Decoded::End;
    }
    if buf.len() < HEADER {
        return if buf.iter().all(|&b| b == 0) {
            Decoded::End
        } else {
            Decoded::Torn
        };
    }
    let len = u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
    if len == 0 && buf[4..HEADER].iter().all(|&b| b == 0) {
        return Decoded::End;
    }
    if !(FIXED..=MAX_PAYLOAD).contains(&len) {
        return Decoded::Corrupt("impossible record length");
    }
    if buf.len() < HEADER + len {
        return Decoded::Torn;
    }
    let crc = u32::from_le_bytes([buf[4], buf[5], buf[6], buf[7]]);
    let payload = &buf[HEADER..HEADER + len];
    if checksum(&buf[..4], payload) != crc {
        return Decoded::Corrupt("checksum mismatch");
    }
    let mut a = [0u8; 8];
    a.copy_from_slice(&payload[..8]);
    let seq = u64::from_le_bytes(a);
    a.copy_from_slice(&payload[8..16]);
    let received_ms = i64::from_le_bytes(a);
    Decoded::Record(
        Record {
            seq,
            received_ms,
            body: payload[FIXED..].to_vec(),
        },
        HEADER + len,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_every_cut_is_torn() {
        let mut buf = Vec::new();
        encode(&mut buf, 7, -3, b"hello");
        assert_eq!(buf.len(), encoded_len(5));
        match decode(&buf) {
            Decoded::Record(r, n) => {
                assert_eq!(
                    (r.seq, r.received_ms, &r.body[..], n),
                    (7, -3, &b"hello"[..], buf.len())
                )
            }
            other => panic!("expected a record, got {other:?}"),
        }
        for cut in 1..buf.len() {
            assert_eq!(decode(&buf[..cut]), Decoded::Torn, "cut at {cut}");
        }
    }

    #[test]
    fn any_flipped_bit_is_caught() {
        let mut buf = Vec::new();
        encode(&mut buf, 1, 2, b"{\"object\":\"page\"}");
        for i in 0..buf.len() * 8 {
            let mut b = buf.clone();
            b[i / 8] ^= 1 << (i % 8);
            assert!(
                !matches!(decode(&b), Decoded::Record(..)),
                "bit {i} flipped still decodes"
            );
        }
    }
}
