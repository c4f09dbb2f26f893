//! Graph API `fields=` expressions: `a,b,messages.limit(5){id,from}`.

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Field {
    pub name: String,
    pub limit: Option<usize>,
    pub sub: Option<Vec<Field>>,
}

pub fn parse(s: &str) -> Vec<Field> {
    let chars: Vec<char> = s.chars().collect();
    let mut pos = 0;
    parse_list(&chars, &mut pos)
}

/// The text of a sub-field list, for `paging.next` URLs.
pub fn render(fields: &[Field]) -> String {
    fields
        .iter()
        .map(|f| {
            let mut s = f.name.clone();
            if let Some(l) = f.limit {
                s.push_str(&format!(".limit({l})"));
            }
            if let Some(sub) = &f.sub {
                s.push_str(&format!("{{{}}}", render(sub)));
            }
            s
        })
        .collect::<Vec<_>>()
        .join(",")
}

pub fn find<'a>(fields: &'a [Field], name: &str) -> Option<&'a Field> {
    fields.iter().find(|f| f.name == name)
}

fn parse_list(c: &[char], pos: &mut usize) -> Vec<Field> {
    let mut out = vec![];
    loop {
        while *pos < c.len() && (c[*pos] == ',' || c[*pos].is_whitespace()) {
            *pos += 1;
        }
        if *pos >= c.len() || c[*pos] == '}' {
            return out;
        }
        let mut f = Field::default();
        while *pos < c.len() && !matches!(c[*pos], ',' | '{' | '}' | '.') {
            f.name.push(c[*pos]);
            *pos += 1;
        }
        f.name = f.name.trim().to_string();
        loop {
            match c.get(*pos) {
                Some('.') => {
                    *pos += 1;
                    let mut m = String::new();
                    while *pos < c.len() && c[*pos] != '(' && !matches!(c[*pos], ',' | '{' | '}') {
                        m.push(c[*pos]);
                        *pos += 1;
                    }
                    let mut arg = String::new();
                    if c.get(*pos) == Some(&'(') {
                        *pos += 1;
                        while *pos < c.len() && c[*pos] != ')' {
                            arg.push(c[*pos]);
                            *pos += 1;
                        }
                        *pos += 1;
                    }
                    if m == "limit" {
                        f.limit = arg.trim().parse().ok();
                    }
                }
                Some('{') => {
                    *pos += 1;
                    f.sub = Some(parse_list(c, pos));
                    if c.get(*pos) == Some(&'}') {
                        *pos += 1;
                    }
                }
                _ => break,
            }
        }
        if !f.name.is_empty() {
            out.push(f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nested_expansion_with_limit() {
        let f = parse("participants,updated_time,messages.limit(20){id,created_time,from,to,message,attachments}");
        assert_eq!(f.len(), 3);
        let m = find(&f, "messages").unwrap();
        assert_eq!(m.limit, Some(20));
        assert_eq!(m.sub.as_ref().unwrap().len(), 6);
        assert_eq!(render(&f), "participants,updated_time,messages.limit(20){id,created_time,from,to,message,attachments}");
        let g = parse("messages{id}.limit(3)");
        assert_eq!(g[0].limit, Some(3));
        assert!(parse("").is_empty());
    }
}
