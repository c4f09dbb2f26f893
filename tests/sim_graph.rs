//! The fake Graph API: conversations paging at both levels, the Instagram
//! 20-message limit, profiles, batch, and the endpoints doctor uses.

use dmdesk::domain::Platform;
use dmdesk::sim::{SimConfig, SimHandle, Simulator};
use serde_json::{json, Value};
use std::collections::HashSet;

const TOKEN: &str = "demo-page-token";

async fn sim() -> SimHandle {
    let mut cfg = SimConfig::demo(None);
    cfg.customers = 30;
    cfg.history = (3, 9);
    Simulator::start(cfg).await.unwrap()
}

async fn get(url: &str) -> (u16, Value) {
    let r = reqwest::get(url).await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

/// Follow a nested `messages` paging chain to its end; returns the ids.
async fn drain_messages(first: &Value) -> Vec<String> {
    let mut ids: Vec<String> = vec![];
    let mut page = first.clone();
    for _ in 0..100 {
        for m in page["data"].as_array().unwrap() {
            ids.push(m["id"].as_str().unwrap().to_string());
            assert!(m["created_time"].as_str().unwrap().ends_with("+0000"));
            assert!(m.get("from").is_some() && m.get("message").is_some(), "{m}");
        }
        match page["paging"]["next"].as_str() {
            Some(next) => {
                assert!(
                    next.contains("fields=") && next.contains("after="),
                    "{next}"
                );
                page = get(next).await.1;
            }
            None => return ids,
        }
    }
    panic!("paging never ended")
}

#[tokio::test]
async fn conversations_page_at_both_levels() {
    let sim = sim().await;
    let base = &sim.graph_base_url;
    let customers = sim.customers();
    for (platform, name) in [
        (Platform::Messenger, "messenger"),
        (Platform::Instagram, "instagram"),
    ] {
        let expected: Vec<_> = customers
            .iter()
            .filter(|c| c.platform == platform)
            .collect();
        let mut url = format!(
            "{base}/v23.0/100200300/conversations?platform={name}&fields=participants,updated_time,messages.limit(2){{id,created_time,from,to,message,attachments}}&limit=4&access_token={TOKEN}"
        );
        let mut seen = vec![];
        let mut times = vec![];
        let mut pages = 0;
        loop {
            pages += 1;
            let (s, v) = get(&url).await;
            assert_eq!(s, 200, "{v}");
            let data = v["data"].as_array().unwrap();
            assert!(data.len() <= 4);
            for conv in data {
                let id = conv["id"].as_str().unwrap().to_string();
                let c = expected
                    .iter()
                    .find(|c| c.conv_id == id)
                    .expect("known thread");
                let parts = conv["participants"]["data"].as_array().unwrap();
                assert_eq!(parts[0]["id"], c.user_id.as_str());
                match platform {
                    Platform::Messenger => assert_eq!(parts[1]["id"], "100200300"),
                    Platform::Instagram => {
                        assert_eq!(parts[1]["id"], "17840000000000001");
                        assert!(parts[0]["username"].is_string());
                    }
                }
                let first = &conv["messages"];
                assert!(first["data"].as_array().unwrap().len() <= 2);
                let mids = drain_messages(first).await;
                let readable = match platform {
                    Platform::Messenger => c.messages,
                    Platform::Instagram => c.messages.min(20),
                };
                assert_eq!(mids.len(), readable, "all (readable) messages of {id}");
                assert_eq!(
                    mids.iter().collect::<HashSet<_>>().len(),
                    mids.len(),
                    "no repeats"
                );
                times.push(conv["updated_time"].as_str().unwrap().to_string());
                seen.push(id);
            }
            match v["paging"]["next"].as_str() {
                Some(n) => url = n.to_string(),
                None => break,
            }
            assert!(pages < 50);
        }
        assert_eq!(seen.len(), expected.len(), "{name}: every thread once");
        assert_eq!(seen.iter().collect::<HashSet<_>>().len(), seen.len());
        let mut sorted = times.clone();
        sorted.sort_by(|a, b| b.cmp(a));
        assert_eq!(times, sorted, "updated_time descending");
        assert!(pages > 1, "{name} paged");
    }
    // An Instagram thread longer than 20 exists in this world (seeded) and is capped.
    assert!(
        customers
            .iter()
            .any(|c| c.platform == Platform::Instagram && c.messages > 20),
        "seed gives a long IG thread"
    );
    let s = sim.stats();
    assert!(
        s.calls_to("conversations") >= 2 && s.calls_to("messages") >= 1,
        "{s:?}"
    );
}

#[tokio::test]
async fn profiles_batch_and_doctor_endpoints() {
    let sim = sim().await;
    let base = &sim.graph_base_url;
    let customers = sim.customers();
    let fb = customers
        .iter()
        .find(|c| c.platform == Platform::Messenger && c.profile_available)
        .unwrap();
    let ig = customers
        .iter()
        .find(|c| c.platform == Platform::Instagram && c.profile_available)
        .unwrap();

    let (s, v) = get(&format!(
        "{base}/v23.0/{}?fields=first_name,last_name,profile_pic&access_token={TOKEN}",
        fb.user_id
    ))
    .await;
    assert_eq!(s, 200);
    assert_eq!(
        format!(
            "{} {}",
            v["first_name"].as_str().unwrap(),
            v["last_name"].as_str().unwrap()
        ),
        fb.name
    );
    assert!(v["profile_pic"].as_str().unwrap().starts_with("https://"));
    let (_, v) = get(&format!(
        "{base}/v23.0/{}?fields=name,username,profile_pic&access_token={TOKEN}",
        ig.user_id
    ))
    .await;
    assert_eq!(v["username"], ig.username.as_str());
    assert_eq!(v["name"], ig.name.as_str());

    let (s, v) = get(&format!(
        "{base}/v23.0/{}?fields=first_name&access_token=nope",
        fb.user_id
    ))
    .await;
    assert_eq!((s, v["error"]["code"].as_i64()), (401, Some(190)));
    let (s, _) = get(&format!("{base}/graph/{}?access_token={TOKEN}", fb.user_id)).await;
    assert_eq!(s, 400, "a version segment is required");

    // Batch: profiles in input order, bodies as JSON strings.
    let batch: Vec<Value> = customers
        .iter()
        .take(5)
        .map(|c| {
            let fields = match c.platform {
                Platform::Messenger => "first_name,last_name,profile_pic",
                Platform::Instagram => "name,username,profile_pic",
            };
            json!({"method": "GET", "relative_url": format!("{}?fields={fields}", c.user_id)})
        })
        .collect();
    let r = reqwest::Client::new()
        .post(format!("{base}/v23.0/"))
        .form(&[
            ("access_token", TOKEN),
            ("include_headers", "false"),
            ("batch", &Value::from(batch).to_string()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let answers: Vec<Value> = r.json().await.unwrap();
    assert_eq!(answers.len(), 5);
    for (a, c) in answers.iter().zip(&customers) {
        assert!(a.get("headers").is_none());
        let body: Value = serde_json::from_str(a["body"].as_str().unwrap()).unwrap();
        if c.profile_available {
            assert_eq!(a["code"], 200);
            assert_eq!(body["id"], c.user_id.as_str());
        } else {
            assert_eq!(a["code"], 400);
            assert!(body["error"]["code"].is_number());
        }
    }
    let too_many: Vec<Value> = (0..51)
        .map(|_| json!({"method": "GET", "relative_url": "me"}))
        .collect();
    let r = reqwest::Client::new()
        .post(format!("{base}/v23.0"))
        .form(&[
            ("access_token", TOKEN),
            ("batch", &Value::from(too_many).to_string()),
        ])
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], 100);

    let (_, me) = get(&format!("{base}/v23.0/me?access_token={TOKEN}")).await;
    assert_eq!(
        (me["id"].as_str(), me["name"].as_str()),
        (Some("100200300"), Some("Demo Coffee Co."))
    );
    let (_, subs) = get(&format!(
        "{base}/v23.0/100200300/subscribed_apps?access_token={TOKEN}"
    ))
    .await;
    let app = &subs["data"][0];
    assert_eq!(app["id"], "1000000000000001");
    assert!(app["subscribed_fields"]
        .as_array()
        .unwrap()
        .contains(&json!("messages")));
    let s = sim.stats();
    assert_eq!(s.calls_to("batch"), 2);
    assert!(
        s.calls_to("profile") >= 7,
        "batch entries count separately: {s:?}"
    );
}

#[tokio::test]
async fn reads_above_the_configured_size_get_code_1() {
    let mut cfg = SimConfig::demo(None);
    cfg.customers = 12;
    cfg.history = (30, 30);
    cfg.faults.max_items_per_read = Some(60);
    let sim = Simulator::start(cfg).await.unwrap();
    let base = &sim.graph_base_url;
    let list = |limit: usize, per_thread: usize| {
        format!("{base}/v25.0/100200300/conversations?platform=messenger&fields=participants,messages.limit({per_thread}){{id}}&limit={limit}&access_token={TOKEN}")
    };
    // 3 threads × 30 messages = 90 > 60: Meta's "reduce the amount of data".
    let (status, v) = get(&list(3, 30)).await;
    assert_eq!(status, 500, "{v}");
    assert_eq!(v["error"]["code"], 1);
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("Please reduce the amount of data you're asking for"));
    // 2 × 30 = 60: served, 30-message threads whole.
    let (status, v) = get(&list(2, 30)).await;
    assert_eq!(status, 200, "{v}");
    for t in v["data"].as_array().unwrap() {
        assert_eq!(t["messages"]["data"].as_array().unwrap().len(), 30);
        assert!(t["messages"]["paging"].get("next").is_none());
    }
    // Without a nested expansion a thread counts once.
    let (status, _) = get(&format!(
        "{base}/v25.0/100200300/conversations?platform=messenger&limit=60&access_token={TOKEN}"
    ))
    .await;
    assert_eq!(status, 200);
    // A thread's own messages edge and a single thread count the same way.
    let conv = &sim.customers()[0].conv_id;
    let (status, _) = get(&format!(
        "{base}/v25.0/{conv}/messages?limit=61&access_token={TOKEN}"
    ))
    .await;
    assert_eq!(status, 500);
    let (status, _) = get(&format!(
        "{base}/v25.0/{conv}?fields=messages.limit(61){{id}}&access_token={TOKEN}"
    ))
    .await;
    assert_eq!(status, 500);
    let (status, _) = get(&format!(
        "{base}/v25.0/{conv}/messages?limit=60&access_token={TOKEN}"
    ))
    .await;
    assert_eq!(status, 200);
}
