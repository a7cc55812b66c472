use super::*;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct Fields<'a> {
    #[serde(default, borrow, deserialize_with = "text")]
    text: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "id")]
    id: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "number")]
    code: Option<i64>,
    #[serde(default, deserialize_with = "boolean")]
    flag: Option<bool>,
    #[serde(default, deserialize_with = "float")]
    at: Option<f64>,
    #[serde(default, borrow, deserialize_with = "object")]
    inner: Option<Inner<'a>>,
    #[serde(default, borrow, deserialize_with = "list")]
    list: Vec<Inner<'a>>,
    #[serde(default, borrow)]
    raw: Elements<'a>,
}

#[derive(Debug, Deserialize)]
struct Inner<'a> {
    #[serde(default, borrow, deserialize_with = "text")]
    name: Option<Cow<'a, str>>,
}

fn read(json: &str) -> Fields<'_> {
    serde_json::from_str(json).expect("a lenient read never fails on types")
}

#[test]
fn every_field_of_another_type_reads_as_absent() {
    let f = read(
        r#"{"text": 1, "id": 1.5, "code": "x", "flag": "true", "at": "1", "inner": [1],
            "list": {"name": "a"}, "raw": {"a": 1}}"#,
    );
    assert!(f.text.is_none() && f.id.is_none() && f.code.is_none() && f.flag.is_none());
    assert!(f.at.is_none() && f.inner.is_none() && f.list.is_empty());
    assert!(
        f.raw.is_empty() && f.raw.not_a_list,
        "flagged, so it is kept"
    );
    let f = read(r#"{"text": null, "raw": null}"#);
    assert!(
        f.text.is_none() && !f.raw.not_a_list,
        "null is absent, not drift"
    );
}

#[test]
fn fields_of_the_documented_type_read_as_before_and_borrow() {
    let f = read(
        r#"{"text": "plain", "id": "wamid.X", "code": 131051, "flag": false, "at": 38,
            "inner": {"name": "n", "extra": [1, {"deep": true}]},
            "list": [{"name": "a"}, "skipped", {"name": 2}], "raw": [1, "two", {"three": 3}]}"#,
    );
    assert!(matches!(f.text, Some(Cow::Borrowed("plain"))), "no copy");
    assert!(matches!(f.id, Some(Cow::Borrowed("wamid.X"))));
    assert_eq!(
        (f.code, f.flag, f.at),
        (Some(131051), Some(false), Some(38.0))
    );
    assert_eq!(f.inner.and_then(|i| i.name).as_deref(), Some("n"));
    let names: Vec<_> = f.list.iter().map(|i| i.name.as_deref()).collect();
    assert_eq!(names, [Some("a"), None], "the string element is skipped");
    let raw: Vec<&str> = f.raw.iter().map(|r| r.get()).collect();
    assert_eq!(
        raw,
        ["1", r#""two""#, r#"{"three": 3}"#],
        "each element as sent"
    );
}

#[test]
fn ids_and_codes_accept_their_other_spelling() {
    let f = read(r#"{"id": 1493318722875447, "code": "131047", "text": "caf\u00e9"}"#);
    assert_eq!(f.id.as_deref(), Some("1493318722875447"));
    assert_eq!(f.code, Some(131047));
    assert_eq!(f.text.as_deref(), Some("café"), "escapes are read (owned)");
}

#[test]
fn only_objects_are_objects() {
    assert!(is_object(" {\"a\":1}") && !is_object("[1]") && !is_object("\"x\""));
}

#[derive(Debug, Deserialize)]
struct Once<'a> {
    #[serde(default, borrow, deserialize_with = "text")]
    name: Option<Cow<'a, str>>,
}

fn read_once(json: &str) -> Result<Vec<Option<Once<'_>>>, serde_json::Error> {
    struct Seq<'a>(Vec<Option<Once<'a>>>);
    impl<'de: 'a, 'a> Deserialize<'de> for Seq<'a> {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct Item<'a>(Option<Once<'a>>);
            impl<'de: 'a, 'a> Deserialize<'de> for Item<'a> {
                fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                    object_once(d, &["name"]).map(Item)
                }
            }
            Ok(Seq(Vec::<Item<'a>>::deserialize(deserializer)?
                .into_iter()
                .map(|item| item.0)
                .collect()))
        }
    }
    serde_json::from_str::<Seq<'_>>(json).map(|seq| seq.0)
}

/// Found while fuzzing notification parsing (tests/fuzz): a derived struct refuses a field given twice, and at
/// the `entry[]` / `changes[]` level that error failed the whole body. `object_once` reads such an
/// object as absent (to its end) and its siblings as usual.
#[test]
fn an_object_giving_a_field_twice_is_absent_and_costs_no_sibling() {
    let read = read_once(
        r#"[{"name": "a", "name": "b"}, {"name": "c", "other": 1, "other": 2}, 5, {"name": "\u0064"}]"#,
    )
    .expect("a field given twice is no error");
    assert!(read[0].is_none(), "which name was meant cannot be told");
    assert_eq!(read[1].as_ref().and_then(|o| o.name.as_deref()), Some("c"));
    assert!(read[2].is_none());
    assert_eq!(read[3].as_ref().and_then(|o| o.name.as_deref()), Some("d"));
    // Only the fields named are checked; escaped keys count as what they spell.
    assert!(read_once(r#"[{"name": "a", "n\u0061me": "b"}]"#).expect("read")[0].is_none());
    // Broken JSON is still an error.
    assert!(read_once(r#"[{"name": "a", "name": }]"#).is_err());
}
