//! A message's `attachments[]`: kind, url and title, whatever shape Meta
//! sent them in.

use crate::domain::Attachment;
use crate::meta::lenient;
use serde_json::Value;

pub(super) fn attachments(v: Option<&Value>) -> Vec<Attachment> {
    let Some(list) = v.and_then(Value::as_array) else {
        return vec![];
    };
    let parsed = list
        .iter()
        .filter_map(|a| {
            let a = a.as_object()?;
            let mut kind = lenient::string(a.get("type")).unwrap_or_else(|| "unknown".into());
            let payload = a.get("payload").filter(|p| !p.is_null());
            // A sticker: `type: "sticker"` (2026), or the older `image`
            // carrying `sticker_id`.
            let sticker = payload
                .and_then(|p| lenient::id(p.get("sticker_id")))
                .or_else(|| lenient::id(a.get("sticker_id")));
            if kind == "sticker" || (kind == "image" && sticker.is_some()) {
                kind = "sticker".into();
            }
            let url = payload
                .and_then(|p| {
                    lenient::string(p.get("url"))
                        .or_else(|| lenient::string(p.get("URL")))
                        .or_else(|| lenient::string(p.get("story_media_url")))
                })
                .or_else(|| lenient::string(a.get("url")))
                .or_else(|| lenient::string(a.get("URL")));
            let title = lenient::string(a.get("title")).or_else(|| {
                payload.and_then(|p| {
                    lenient::string(p.get("title")).or_else(|| {
                        let c = p.get("coordinates")?;
                        Some(format!(
                            "{}, {}",
                            lenient::string(c.get("lat"))?,
                            lenient::string(c.get("long"))?
                        ))
                    })
                })
            });
            Some((Attachment { kind, url, title }, sticker))
        })
        .collect();
    one_per_sticker(parsed)
}

/// During Meta's sticker transition (until 2026-08-30) a sticker arrives
/// as both a `sticker` and an `image` attachment: one attachment per
/// sticker (the first, with the other's url if it had none).
fn one_per_sticker(parsed: Vec<(Attachment, Option<String>)>) -> Vec<Attachment> {
    let mut out: Vec<(Attachment, Option<String>)> = Vec::with_capacity(parsed.len());
    for (a, id) in parsed {
        let twin = out.iter_mut().find(|(b, bid)| {
            a.kind == "sticker"
                && b.kind == "sticker"
                && match (&id, bid) {
                    (Some(x), Some(y)) => x == y,
                    // The new form may lack the id or the url: an id-less
                    // sticker is the other one's twin when the urls agree
                    // or one of them has none.
                    _ => a.url.is_none() || b.url.is_none() || a.url == b.url,
                }
        });
        match twin {
            Some((b, bid)) => {
                if b.url.is_none() {
                    b.url = a.url;
                }
                if bid.is_none() {
                    *bid = id;
                }
            }
            None => out.push((a, id)),
        }
    }
    out.into_iter().map(|(a, _)| a).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn att(kind: &str, url: Option<&str>, title: Option<&str>) -> Attachment {
        Attachment {
            kind: kind.into(),
            url: url.map(Into::into),
            title: title.map(Into::into),
        }
    }

    #[test]
    fn urls_come_from_the_payload_in_any_spelling_else_the_attachment() {
        let v = json!([
            {"type":"image","payload":{"url":"https://a"}},
            {"type":"file","payload":{"URL":"https://b"}},
            {"type":"story_mention","payload":{"story_media_url":"https://c"}},
            {"type":"fallback","url":"https://d","title":"A link","payload":null},
            {"payload":{}},
            "not an object"
        ]);
        assert_eq!(
            attachments(Some(&v)),
            vec![
                att("image", Some("https://a"), None),
                att("file", Some("https://b"), None),
                att("story_mention", Some("https://c"), None),
                att("fallback", Some("https://d"), Some("A link")),
                att("unknown", None, None),
            ]
        );
        assert!(attachments(None).is_empty());
        assert!(attachments(Some(&json!({"type":"image"}))).is_empty());
    }

    #[test]
    fn a_location_is_titled_by_its_coordinates() {
        let v = json!([{"type":"location","payload":{"coordinates":{"lat":52.52,"long":13.405}}},
                       {"type":"location","payload":{"coordinates":{"lat":1}}}]);
        assert_eq!(
            attachments(Some(&v)),
            vec![
                att("location", None, Some("52.52, 13.405")),
                att("location", None, None),
            ]
        );
    }

    #[test]
    fn an_image_with_a_sticker_id_is_a_sticker() {
        let v =
            json!([{"type":"image","payload":{"url":"https://s","sticker_id":369239263222822u64}}]);
        assert_eq!(
            attachments(Some(&v)),
            vec![att("sticker", Some("https://s"), None)]
        );
    }

    #[test]
    fn twin_stickers_become_one_and_distinct_ones_stay() {
        // The transition form: the same sticker as `sticker` and as `image`.
        let twins = json!([
            {"type":"sticker","payload":{"sticker_id":"1"}},
            {"type":"image","payload":{"url":"https://s1","sticker_id":"1"}}
        ]);
        assert_eq!(
            attachments(Some(&twins)),
            vec![att("sticker", Some("https://s1"), None)]
        );
        let two = json!([
            {"type":"sticker","payload":{"url":"https://s1","sticker_id":"1"}},
            {"type":"sticker","payload":{"url":"https://s2","sticker_id":"2"}}
        ]);
        assert_eq!(attachments(Some(&two)).len(), 2);
        // Without ids, different urls are different stickers.
        let no_ids = json!([
            {"type":"sticker","payload":{"url":"https://s1"}},
            {"type":"sticker","payload":{"url":"https://s2"}}
        ]);
        assert_eq!(attachments(Some(&no_ids)).len(), 2);
        // Two images are never merged.
        let images = json!([
            {"type":"image","payload":{"url":"https://a"}},
            {"type":"image","payload":{"url":"https://a"}}
        ]);
        assert_eq!(attachments(Some(&images)).len(), 2);
    }
}
