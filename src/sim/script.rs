//! What simulated customers are called and what they write: small tables of
//! names and texts in several languages, with emoji, picked by a seeded rng.

use rand::Rng;

/// One language's names and lines.
pub struct Lang {
    pub code: &'static str,
    /// (first name, last name, romanised username stem)
    pub names: &'static [(&'static str, &'static str, &'static str)],
    pub customer: &'static [&'static str],
    pub page: &'static [&'static str],
}

pub const LANGS: &[Lang] = &[
    Lang {
        code: "en",
        names: &[
            ("Emma", "Johnson", "emma.j"),
            ("Liam", "Smith", "liamsmith"),
            ("Olivia", "Brown", "liv.brown"),
            ("Noah", "Davis", "noahd"),
        ],
        customer: &[
            "Hi! Do you ship to Canada? 🇨🇦",
            "My order hasn't arrived yet, can you check? Order #48213",
            "Love the new seasonal blend ☕😍",
            "Are you open on Sunday?",
            "Can I change the grind size on my subscription?",
            "Thanks so much, that worked 🙏",
        ],
        page: &[
            "Hi! Yes, we ship to Canada within 5 days.",
            "Thanks for reaching out, let me check that for you.",
            "You're welcome! Have a great day ☕",
        ],
    },
    Lang {
        code: "es",
        names: &[
            ("Lucía", "García", "lucia.garcia"),
            ("Mateo", "Fernández", "mateof"),
            ("Sofía", "López", "sofi_lopez"),
        ],
        customer: &[
            "¡Hola! ¿Hacen envíos a México? 🇲🇽",
            "Mi pedido llegó dañado 😢 ¿qué puedo hacer?",
            "¿Tienen café descafeinado?",
            "¡Muchas gracias por la ayuda! 🙌",
        ],
        page: &[
            "¡Hola! Sí, enviamos a México.",
            "Lo sentimos mucho, te enviamos uno nuevo hoy.",
        ],
    },
    Lang {
        code: "de",
        names: &[
            ("Lukas", "Müller", "lukas.mueller"),
            ("Hannah", "Schröder", "hannah_s"),
            ("Jürgen", "Weiß", "juergenweiss"),
        ],
        customer: &[
            "Hallo, wann kommt meine Bestellung an? 📦",
            "Gibt es die Bohnen auch in 1 kg Packungen?",
            "Vielen Dank, sehr freundlicher Service! 👍",
            "Kann ich mein Abo pausieren?",
        ],
        page: &[
            "Hallo! Die Lieferung dauert 2–3 Werktage.",
            "Ja, das Abo kann jederzeit pausiert werden.",
        ],
    },
    Lang {
        code: "fr",
        names: &[
            ("Chloé", "Dubois", "chloe.dubois"),
            ("Théo", "Lefèvre", "theo_lfv"),
            ("Léa", "Moreau", "leamoreau"),
        ],
        customer: &[
            "Bonjour ! Est-ce que vous livrez en Belgique ? 🇧🇪",
            "Le café était délicieux, merci ☕✨",
            "J'ai reçu le mauvais produit, que faire ?",
            "Quels sont vos horaires d'ouverture ?",
        ],
        page: &[
            "Bonjour ! Oui, nous livrons en Belgique.",
            "Désolés pour l'erreur, nous vous envoyons le bon produit.",
        ],
    },
    Lang {
        code: "ja",
        names: &[
            ("さくら", "佐藤", "sakura.sato"),
            ("健太", "鈴木", "kenta_suzuki"),
            ("陽菜", "高橋", "hina.t"),
        ],
        customer: &[
            "こんにちは！日本への発送は可能ですか？🇯🇵",
            "注文したコーヒー豆がまだ届いていません😢",
            "とても美味しかったです！ありがとうございます☕",
            "定期便の解約方法を教えてください。",
        ],
        page: &[
            "こんにちは！はい、日本へも発送しております。",
            "ご連絡ありがとうございます。確認いたします。",
        ],
    },
    Lang {
        code: "zh",
        names: &[
            ("伟", "王", "wang.wei"),
            ("芳", "李", "li_fang88"),
            ("静", "张", "zhangjing"),
        ],
        customer: &[
            "你好！请问可以寄到上海吗？📦",
            "咖啡很好喝，谢谢！😊",
            "我的订单显示已发货，但还没收到。",
            "有没有礼品包装？🎁",
        ],
        page: &["你好！可以寄到上海，大约7天送达。", "谢谢你的支持！"],
    },
    Lang {
        code: "ar",
        names: &[
            ("مريم", "حسن", "mariam.hassan"),
            ("عمر", "خالد", "omar_khaled"),
            ("ليلى", "سعيد", "layla.saeed"),
        ],
        customer: &[
            "مرحبا! هل تشحنون إلى دبي؟ 🇦🇪",
            "شكرا جزيلا على الخدمة الرائعة 🌟",
            "متى سيصل طلبي؟",
            "هل لديكم قهوة عربية؟ ☕",
        ],
        page: &[
            "مرحبا! نعم، نشحن إلى دبي.",
            "شكرا لتواصلك معنا، سنتحقق من طلبك.",
        ],
    },
    Lang {
        code: "pt",
        names: &[
            ("João", "Silva", "joao.silva"),
            ("Beatriz", "Conceição", "bia.conceicao"),
            ("Gonçalo", "Santos", "goncalo_s"),
        ],
        customer: &[
            "Olá! Vocês entregam no Brasil? 🇧🇷",
            "Adorei o café, obrigado! ❤️",
            "Posso trocar o endereço de entrega?",
            "Qual é o prazo de entrega para Lisboa?",
        ],
        page: &[
            "Olá! Sim, entregamos no Brasil.",
            "Claro, já atualizamos o endereço.",
        ],
    },
    Lang {
        code: "ko",
        names: &[("지우", "김", "jiwoo.kim"), ("민준", "이", "minjun_lee")],
        customer: &[
            "안녕하세요! 한국으로 배송되나요? 🇰🇷",
            "커피 정말 맛있어요 😋",
        ],
        page: &["안녕하세요! 네, 한국으로 배송됩니다."],
    },
    Lang {
        code: "ru",
        names: &[
            ("Анна", "Иванова", "anna.ivanova"),
            ("Дмитрий", "Смирнов", "dima_smirnov"),
        ],
        customer: &[
            "Здравствуйте! Вы доставляете в Москву?",
            "Спасибо, всё пришло 👍",
        ],
        page: &["Здравствуйте! Да, доставляем."],
    },
];

/// Emoji sprinkled on some messages and used for reactions.
pub const EMOJI: &[&str] = &["😀", "😂", "❤️", "👍", "🙏", "🎉", "☕", "🔥", "😮", "😢"];

/// Messenger reaction names with their emoji (meta-api.md §2).
pub const REACTIONS: &[(&str, &str)] = &[
    ("love", "\u{2764}\u{FE0F}"),
    ("like", "\u{1F44D}"),
    ("smile", "\u{1F606}"),
    ("wow", "\u{1F62E}"),
    ("sad", "\u{1F622}"),
    ("angry", "\u{1F620}"),
];

/// Attachment kinds a customer may send, with an example https URL and a
/// Graph `mime_type`.
pub const ATTACHMENTS: &[(&str, &str, &str)] = &[
    (
        "image",
        "https://scontent.example.com/v/t1.15752-9/photo_{n}.jpg",
        "image/jpeg",
    ),
    (
        "audio",
        "https://cdn.fbsbx.example.com/v/t59.3654-21/audioclip_{n}.mp4",
        "audio/mpeg",
    ),
    (
        "video",
        "https://video.xx.fbcdn.example.com/v/t42.3356-2/video_{n}.mp4",
        "video/mp4",
    ),
    (
        "file",
        "https://cdn.fbsbx.example.com/v/t59.2708-21/invoice_{n}.pdf",
        "application/pdf",
    ),
];

pub fn lang<R: Rng>(rng: &mut R) -> usize {
    rng.random_range(0..LANGS.len())
}

/// A customer's line, sometimes with an extra emoji.
pub fn customer_text<R: Rng>(rng: &mut R, lang: usize) -> String {
    let l = &LANGS[lang % LANGS.len()];
    let mut t = l.customer[rng.random_range(0..l.customer.len())].to_string();
    if rng.random_bool(0.25) {
        t.push(' ');
        t.push_str(EMOJI[rng.random_range(0..EMOJI.len())]);
    }
    t
}

pub fn page_text<R: Rng>(rng: &mut R, lang: usize) -> String {
    let l = &LANGS[lang % LANGS.len()];
    l.page[rng.random_range(0..l.page.len())].to_string()
}

/// (type, url, mime) with a unique number in the URL.
pub fn attachment<R: Rng>(rng: &mut R) -> (&'static str, String, &'static str) {
    let (kind, url, mime) = ATTACHMENTS[rng.random_range(0..ATTACHMENTS.len())];
    let n: u32 = rng.random();
    (kind, url.replace("{n}", &n.to_string()), mime)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn every_language_has_lines_and_names() {
        for l in LANGS {
            assert!(
                !l.names.is_empty() && !l.customer.is_empty() && !l.page.is_empty(),
                "{}",
                l.code
            );
            for (_, _, u) in l.names {
                assert!(u.is_ascii(), "usernames are romanised: {u}");
            }
        }
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        assert!(!customer_text(&mut rng, 4).is_empty());
        let (_, url, _) = attachment(&mut rng);
        assert!(url.starts_with("https://") && !url.contains("{n}"));
    }
}
