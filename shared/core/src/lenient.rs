//! Field deserializers that read a value of an unexpected type as absent instead of failing the
//! element that holds it (the style of the records table's own lenient reading,
//! `records::item`): Meta's payloads drift (a number where a string was, an object where a list
//! was), and one drifted optional field must never cost the element, its siblings or the body.
//!
//! Strings are borrowed from the body whenever they hold no escape, as `#[serde(borrow)]` does,
//! so the planning views stay allocation-light. Use with `#[serde(default, deserialize_with =
//! "...")]` (and `borrow` for borrowed types): a missing field is then absent too.

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::marker::PhantomData;

/// What a JSON value is, as far as a scalar field cares.
enum Scalar<'de> {
    Text(Cow<'de, str>),
    Signed(i64),
    Unsigned(u64),
    Float(f64),
    Bool(bool),
    /// null, a list or an object (skipped).
    Other,
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_borrowed_str<E: de::Error>(self, value: &'de str) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Text(Cow::Borrowed(value)))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Text(Cow::Owned(value.to_owned())))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Text(Cow::Owned(value)))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Signed(value))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Unsigned(value))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Float(value))
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Bool(value))
    }

    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Other)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Other)
    }

    fn visit_none<E: de::Error>(self) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Other)
    }

    fn visit_some<D: Deserializer<'de>>(self, inner: D) -> Result<Scalar<'de>, D::Error> {
        inner.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scalar<'de>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Scalar::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scalar<'de>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Scalar::Other)
    }
}

fn scalar<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Scalar<'de>, D::Error> {
    deserializer.deserialize_any(ScalarVisitor)
}

/// A string, borrowed from the body when it holds no escape; anything else is absent.
pub fn text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Cow<'de, str>>, D::Error> {
    Ok(match scalar(deserializer)? {
        Scalar::Text(text) => Some(text),
        _ => None,
    })
}

/// An id: a string, or a whole number written as one (Graph's media, account and phone number ids
/// are decimal numbers; a JSON number holding one is the same id). A fraction, which a JSON
/// parser may already have rounded, is no id.
pub fn id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Cow<'de, str>>, D::Error> {
    Ok(match scalar(deserializer)? {
        Scalar::Text(text) => Some(text),
        Scalar::Unsigned(n) => Some(Cow::Owned(n.to_string())),
        Scalar::Signed(n) => Some(Cow::Owned(n.to_string())),
        _ => None,
    })
}

/// [`text`], owned (for the full typed model).
pub fn owned_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(text(deserializer)?.map(Cow::into_owned))
}

/// [`id`], owned.
pub fn owned_id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(id(deserializer)?.map(Cow::into_owned))
}

/// A whole number that fits `T`, written as a number or as a numeric string (Graph error codes).
pub fn number<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<i64> + TryFrom<u64> + std::str::FromStr,
{
    Ok(match scalar(deserializer)? {
        Scalar::Signed(n) => T::try_from(n).ok(),
        Scalar::Unsigned(n) => T::try_from(n).ok(),
        Scalar::Text(text) => text.parse().ok(),
        _ => None,
    })
}

/// Any JSON number (coordinates).
pub fn float<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<f64>, D::Error> {
    Ok(match scalar(deserializer)? {
        Scalar::Float(n) => Some(n),
        Scalar::Signed(n) => Some(n as f64),
        Scalar::Unsigned(n) => Some(n as f64),
        _ => None,
    })
}

/// `true` or `false`.
pub fn boolean<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<bool>, D::Error> {
    Ok(match scalar(deserializer)? {
        Scalar::Bool(flag) => Some(flag),
        _ => None,
    })
}

/// An object read as `T` (whose own fields should be lenient too); anything else is absent.
pub fn object<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    deserializer.deserialize_any(ObjectVisitor(PhantomData, None))
}

/// [`object`] for the levels whose error would cost the whole body (`entry[]`, `changes[]`): an object that
/// gives one of `fields` twice is absent too, read to its end, instead of an error (a derived struct refuses a
/// field given twice, and which one was meant cannot be told), so its siblings are still read.
pub fn object_once<'de, D, T>(
    deserializer: D,
    fields: &'static [&'static str],
) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    deserializer.deserialize_any(ObjectVisitor(PhantomData, Some(fields)))
}

/// The objects of a list, each read as `T`; elements that are not objects are skipped, and
/// anything but a list is an empty one.
pub fn list<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(deserializer
        .deserialize_any(ListVisitor(PhantomData))?
        .unwrap_or_default())
}

/// [`list`], absent when the value is not a list.
pub fn optional_list<'de, D, T>(deserializer: D) -> Result<Option<Vec<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    deserializer.deserialize_any(ListVisitor(PhantomData))
}

/// Reads an object as `T`; with `Some(fields)`, one that gives any of them twice as absent.
struct ObjectVisitor<T>(PhantomData<T>, Option<&'static [&'static str]>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Option<T>, A::Error> {
        let Some(fields) = self.1 else {
            return T::deserialize(de::value::MapAccessDeserializer::new(map)).map(Some);
        };
        let mut repeated = false;
        let value = T::deserialize(de::value::MapAccessDeserializer::new(OnceFields {
            map,
            fields,
            seen: Vec::new(),
            repeated: &mut repeated,
        }))?;
        Ok((!repeated).then_some(value))
    }

    fn visit_some<D: Deserializer<'de>>(self, inner: D) -> Result<Option<T>, D::Error> {
        inner.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Option<T>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_borrowed_str<E: de::Error>(self, _: &'de str) -> Result<Option<T>, E> {
        Ok(None)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Option<T>, E> {
        Ok(None)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Option<T>, E> {
        Ok(None)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Option<T>, E> {
        Ok(None)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Option<T>, E> {
        Ok(None)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Option<T>, E> {
        Ok(None)
    }

    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Option<T>, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Option<T>, E> {
        Ok(None)
    }

    fn visit_none<E: de::Error>(self) -> Result<Option<T>, E> {
        Ok(None)
    }
}

/// The entries of an object with the second (and any later) occurrence of each of `fields` skipped and noted.
struct OnceFields<'r, 'de, A> {
    map: A,
    fields: &'static [&'static str],
    seen: Vec<Cow<'de, str>>,
    repeated: &'r mut bool,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for OnceFields<'_, 'de, A> {
    type Error = A::Error;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        loop {
            let Some(key) = self.map.next_key_seed(KeySeed)? else {
                return Ok(None);
            };
            if self.fields.contains(&key.as_ref()) {
                if self.seen.contains(&key) {
                    *self.repeated = true;
                    self.map.next_value::<IgnoredAny>()?;
                    continue;
                }
                self.seen.push(key.clone());
            }
            return seed
                .deserialize(de::value::CowStrDeserializer::<A::Error>::new(key))
                .map(Some);
        }
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, A::Error> {
        self.map.next_value_seed(seed)
    }

    fn size_hint(&self) -> Option<usize> {
        self.map.size_hint()
    }
}

/// An object's key, borrowed when it holds no escape.
struct KeySeed;

impl<'de> de::DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Cow<'de, str>, D::Error> {
        match scalar(deserializer)? {
            Scalar::Text(key) => Ok(key),
            _ => Err(de::Error::custom("an object key that is not a string")),
        }
    }
}

/// One element of a lenient list: an object read as `T`, anything else skipped.
struct ObjectSeed<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> de::DeserializeSeed<'de> for ObjectSeed<T> {
    type Value = Option<T>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<T>, D::Error> {
        object(deserializer)
    }
}

struct ListVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ListVisitor<T> {
    type Value = Option<Vec<T>>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a list")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element_seed(ObjectSeed(PhantomData))? {
            items.extend(item);
        }
        Ok(Some(items))
    }

    fn visit_some<D: Deserializer<'de>>(self, inner: D) -> Result<Self::Value, D::Error> {
        inner.deserialize_any(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_borrowed_str<E: de::Error>(self, _: &'de str) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// A list whose elements are read on their own: `T` is `&RawValue` for the arrays of a
/// `messages` value (`messages`, `statuses`, `errors`: each element stored verbatim), or an
/// element type whose reading never fails (`Entry`, `Change`). A field that is there but is not a
/// list has no elements and is flagged, so the planner keeps it as one unreadable item.
#[derive(Debug, Clone)]
pub struct Listed<T> {
    pub items: Vec<T>,
    /// The field is present (and not null) but is not a list.
    pub not_a_list: bool,
}

/// The raw elements of one array of a `messages` value.
pub type Elements<'a> = Listed<&'a RawValue>;

impl<T> Default for Listed<T> {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            not_a_list: false,
        }
    }
}

impl<T> std::ops::Deref for Listed<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        &self.items
    }
}

impl<'b, T> IntoIterator for &'b Listed<T> {
    type Item = &'b T;
    type IntoIter = std::slice::Iter<'b, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Listed<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ListedVisitor(PhantomData))
    }
}

struct ListedVisitor<T>(PhantomData<T>);

impl<T> ListedVisitor<T> {
    fn drifted() -> Listed<T> {
        Listed {
            items: Vec::new(),
            not_a_list: true,
        }
    }
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for ListedVisitor<T> {
    type Value = Listed<T>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a list")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Listed<T>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(item) = seq.next_element::<T>()? {
            items.push(item);
        }
        Ok(Listed {
            items,
            not_a_list: false,
        })
    }

    fn visit_some<D: Deserializer<'de>>(self, inner: D) -> Result<Listed<T>, D::Error> {
        inner.deserialize_any(self)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Listed<T>, E> {
        Ok(Listed::default())
    }

    fn visit_none<E: de::Error>(self) -> Result<Listed<T>, E> {
        Ok(Listed::default())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Listed<T>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Self::drifted())
    }

    fn visit_borrowed_str<E: de::Error>(self, _: &'de str) -> Result<Listed<T>, E> {
        Ok(Self::drifted())
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Listed<T>, E> {
        Ok(Self::drifted())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Listed<T>, E> {
        Ok(Self::drifted())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Listed<T>, E> {
        Ok(Self::drifted())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Listed<T>, E> {
        Ok(Self::drifted())
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Listed<T>, E> {
        Ok(Self::drifted())
    }

    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Listed<T>, E> {
        Ok(Self::drifted())
    }
}

/// True when a raw JSON value is an object (derived structs would also read a list positionally,
/// which for Meta's elements is never what was meant).
pub fn is_object(raw: &str) -> bool {
    raw.trim_start().starts_with('{')
}

#[cfg(test)]
#[path = "tests/lenient.rs"]
mod tests;
