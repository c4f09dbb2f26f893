//! A kept picture in pieces, both ends: the owner answers one piece per
//! request from its cache (fetching the picture first if it is missing),
//! and an attached UI asks for the pieces in order and joins them, so no
//! control-socket line nears its 1 MiB limit and at most one piece per
//! picture is in flight.

use super::Source;
use crate::media::picture::{PicKey, PictureChunk, Unavailable};
use base64::Engine as _;
use std::future::Future;
use std::sync::Arc;
use std::time::SystemTime;

/// Bytes per piece (base64 makes a line of about 350 KB).
pub const CHUNK: usize = 256 * 1024;

fn piece(size: u64, offset: u64, data: &[u8]) -> PictureChunk {
    PictureChunk::Bytes {
        size,
        offset,
        data: base64::engine::general_purpose::STANDARD.encode(data),
    }
}

/// The piece of `key` at `offset`, from the cache, else fetched from the
/// URL `url_of` gives (the stored attachment's) and kept. Blocking: it
/// waits for a fetch on `rt`, so call it off the runtime's worker threads.
pub fn serve(
    source: &Arc<Source>,
    rt: &tokio::runtime::Handle,
    key: &PicKey,
    offset: u64,
    url_of: impl FnOnce() -> Result<String, Unavailable>,
) -> PictureChunk {
    match source
        .cache
        .range(&key.cache_name(), offset, CHUNK, SystemTime::now())
    {
        Some((_, Err(_gone))) => return PictureChunk::Unavailable(Unavailable::Expired),
        Some((size, Ok(data))) => return piece(size, offset, &data),
        None => {}
    }
    let url = match url_of() {
        Ok(u) => u,
        Err(u) => return PictureChunk::Unavailable(u),
    };
    match rt.block_on(source.bytes(key, &url)) {
        Ok(b) => {
            let from = (offset as usize).min(b.len());
            let to = (from + CHUNK).min(b.len());
            piece(b.len() as u64, offset, &b[from..to])
        }
        Err(u) => PictureChunk::Unavailable(u),
    }
}

/// Ask for the pieces of one picture in order (`ask(offset)`) and join
/// them; a picture over `max` bytes is refused before more is asked.
pub async fn assemble<F, Fut>(max: u64, mut ask: F) -> Result<Vec<u8>, Unavailable>
where
    F: FnMut(u64) -> Fut,
    Fut: Future<Output = Result<PictureChunk, String>>,
{
    let mut joined = Joined::new(max);
    let mut offset = 0;
    loop {
        let piece = ask(offset).await.map_err(Unavailable::Failed)?;
        match joined.take(piece)? {
            Some(next) => offset = next,
            None => return Ok(joined.bytes),
        }
    }
}

/// The pieces received so far.
struct Joined {
    bytes: Vec<u8>,
    size: Option<u64>,
    max: u64,
}

impl Joined {
    fn new(max: u64) -> Joined {
        Joined {
            bytes: Vec::new(),
            size: None,
            max,
        }
    }

    /// Add the next piece: the offset to ask for next, or None when whole.
    fn take(&mut self, piece: PictureChunk) -> Result<Option<u64>, Unavailable> {
        let broken = |why: &str| Err(Unavailable::Failed(format!("the owner {why}")));
        let (size, offset, data) = match piece {
            PictureChunk::Unavailable(u) => return Err(u),
            PictureChunk::Bytes { size, offset, data } => (size, offset, data),
        };
        if size > self.max {
            return Err(Unavailable::TooLarge(self.max / (1024 * 1024)));
        }
        if *self.size.get_or_insert(size) != size {
            return broken("sent pieces of two different sizes");
        }
        if offset != self.bytes.len() as u64 {
            return broken("sent a piece out of order");
        }
        let Ok(data) = base64::engine::general_purpose::STANDARD.decode(data) else {
            return broken("sent a piece that is not base64");
        };
        if data.len() > CHUNK || self.bytes.len() as u64 + data.len() as u64 > size {
            return broken("sent more than the picture holds");
        }
        if data.is_empty() && (self.bytes.len() as u64) < size {
            return broken("sent an empty piece");
        }
        self.bytes.extend_from_slice(&data);
        let got = self.bytes.len() as u64;
        Ok((got < size).then_some(got))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces_of(bytes: &[u8]) -> impl Fn(u64) -> PictureChunk + '_ {
        move |offset| {
            let from = offset as usize;
            let to = (from + CHUNK).min(bytes.len());
            piece(bytes.len() as u64, offset, &bytes[from..to])
        }
    }

    #[tokio::test]
    async fn pieces_join_into_the_picture_in_order() {
        let bytes: Vec<u8> = (0..CHUNK * 2 + 77).map(|i| (i % 253) as u8).collect();
        let answer = pieces_of(&bytes);
        let mut asked = Vec::new();
        let got = assemble(1 << 30, |o| {
            asked.push(o);
            let p = answer(o);
            async move { Ok(p) }
        })
        .await
        .unwrap();
        assert_eq!(got, bytes);
        assert_eq!(asked, vec![0, CHUNK as u64, 2 * CHUNK as u64]);
    }

    #[tokio::test]
    async fn a_picture_over_the_bound_or_a_bad_piece_stops_the_asking() {
        let bytes = vec![1u8; 3 * 1024 * 1024];
        let answer = pieces_of(&bytes);
        let mut asked = 0;
        let r = assemble(1024 * 1024, |o| {
            asked += 1;
            let p = answer(o);
            async move { Ok(p) }
        })
        .await;
        assert_eq!(r, Err(Unavailable::TooLarge(1)));
        assert_eq!(asked, 1);
        let mut j = Joined::new(1 << 20);
        let out_of_order = PictureChunk::Bytes {
            size: 10,
            offset: 4,
            data: "AAAA".into(),
        };
        assert!(matches!(j.take(out_of_order), Err(Unavailable::Failed(_))));
        let r = assemble(1 << 20, |_| async {
            Ok(PictureChunk::Unavailable(Unavailable::Expired))
        })
        .await;
        assert_eq!(r, Err(Unavailable::Expired));
    }
}
