//! Reading the SAM/CloudFormation template, so the local stack is built from the same definitions that deploy.
//!
//! The YAML is parsed with `serde_yaml_ng`, which keeps short-form tags (`!Ref`, `!GetAtt`, `!Sub`, ...) as
//! tagged values; they are rewritten to their long JSON form (`{"Ref": ..}`, `{"Fn::GetAtt": [..]}`) and then
//! resolved as far as the local stack can: parameters (with their defaults), pseudo parameters, conditions,
//! `Fn::Sub`, `Fn::Join`, `Fn::Select`, `Fn::Split`, `Fn::FindInMap`, `Fn::If` and `AWS::NoValue`. What needs
//! a deployed stack (`Fn::GetAtt`, `Ref` to a resource, `Fn::ImportValue`, ...) is left in long form; callers
//! read only the properties they need, so such values (KMS key ids, SSE specifications) are simply skipped.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::{workspace_root, Error, Result};

/// Environment variable naming a template to use instead of `infra/template.yaml`.
pub const TEMPLATE_ENV: &str = "WAVAULT_TEMPLATE";

/// Values for the pseudo parameters, matching moto's defaults.
const PSEUDO: &[(&str, &str)] = &[
    ("AWS::Region", "us-east-1"),
    ("AWS::AccountId", "123456789012"),
    ("AWS::Partition", "aws"),
    ("AWS::URLSuffix", "amazonaws.com"),
    ("AWS::StackName", "wavault-local"),
    (
        "AWS::StackId",
        "arn:aws:cloudformation:us-east-1:123456789012:stack/wavault-local/local",
    ),
];

/// Marker for `AWS::NoValue`; removed from the enclosing object or list.
const NO_VALUE: &str = "\u{0}AWS::NoValue";

/// A parsed template with parameter values bound.
#[derive(Debug, Clone)]
pub struct Template {
    origin: String,
    root: Value,
    parameters: BTreeMap<String, Value>,
    /// Provisioned resources (logical id -> what `Ref` and `Fn::GetAtt` give), bound by the IAM gateway so role
    /// policies resolve to the ARNs of the local stack.
    resources: BTreeMap<String, ResourceRefs>,
}

/// What a provisioned resource answers to `Ref` and `Fn::GetAtt` (e.g. `Arn`, `StreamArn`).
#[derive(Debug, Clone, Default)]
pub struct ResourceRefs {
    /// The `Ref` value (a table or bucket name, a queue URL, a secret ARN).
    pub reference: String,
    /// Attribute name -> value.
    pub attributes: BTreeMap<String, String>,
}

impl Template {
    /// The project's template: `$WAVAULT_TEMPLATE`, else `<workspace>/infra/template.yaml`.
    pub fn project() -> Result<Template> {
        Template::load(&Template::project_path())
    }

    /// Where [`Template::project`] reads from.
    pub fn project_path() -> PathBuf {
        match std::env::var_os(TEMPLATE_ENV) {
            Some(p) if !p.is_empty() => PathBuf::from(p),
            _ => workspace_root().join("infra").join("template.yaml"),
        }
    }

    /// Reads and parses a template file.
    pub fn load(path: &Path) -> Result<Template> {
        let text = std::fs::read_to_string(path)
            .map_err(Error::io(format!("reading template {}", path.display())))?;
        Template::parse(&text, &path.display().to_string())
    }

    /// Parses template text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Template> {
        let yaml: serde_yaml_ng::Value =
            serde_yaml_ng::from_str(text).map_err(|e| Error::Template {
                origin: origin.to_string(),
                message: format!("not valid YAML: {e}"),
            })?;
        let root = yaml_to_json(yaml);
        if !root.get("Resources").is_some_and(Value::is_object) {
            return Err(Error::Template {
                origin: origin.to_string(),
                message: "has no Resources section".to_string(),
            });
        }
        let mut parameters = BTreeMap::new();
        if let Some(Value::Object(params)) = root.get("Parameters") {
            for (name, spec) in params {
                if let Some(default) = spec.get("Default") {
                    parameters.insert(name.clone(), default.clone());
                }
            }
        }
        Ok(Template {
            origin: origin.to_string(),
            root,
            parameters,
            resources: BTreeMap::new(),
        })
    }

    /// Overrides (or supplies) a parameter value, as `--parameter-overrides` would.
    pub fn with_parameter(mut self, name: &str, value: impl Into<Value>) -> Template {
        self.parameters.insert(name.to_string(), value.into());
        self
    }

    /// Binds a provisioned resource, so `Ref` / `Fn::GetAtt` / `${Logical.Attr}` of it resolve.
    pub fn with_resource(mut self, logical_id: &str, refs: ResourceRefs) -> Template {
        self.resources.insert(logical_id.to_string(), refs);
        self
    }

    /// The raw (unresolved) root of the template, for readers that walk it themselves.
    pub fn root(&self) -> &Value {
        &self.root
    }

    /// Where the template came from, for messages.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// A parameter's bound value (its override, else its `Default`).
    pub fn parameter(&self, name: &str) -> Option<&Value> {
        self.parameters.get(name)
    }

    /// The resource `logical_id`, checked to be of `expected_type`, with its `Properties` resolved.
    pub fn resource(&self, logical_id: &str, expected_type: &str) -> Result<Resource> {
        let resource = self
            .root
            .get("Resources")
            .and_then(|r| r.get(logical_id))
            .ok_or_else(|| self.error(format!("has no resource {logical_id}")))?;
        let found_type = resource.get("Type").and_then(Value::as_str).unwrap_or("");
        if found_type != expected_type {
            return Err(self.error(format!(
                "resource {logical_id} is {found_type:?}, expected {expected_type}"
            )));
        }
        let properties = match resource.get("Properties") {
            Some(p) => self.resolve(p),
            None => Value::Object(Map::new()),
        };
        Ok(Resource {
            origin: self.origin.clone(),
            logical_id: logical_id.to_string(),
            properties,
        })
    }

    /// Logical ids of every resource of `resource_type` (sorted).
    pub fn logical_ids_of_type(&self, resource_type: &str) -> Vec<String> {
        match self.root.get("Resources") {
            Some(Value::Object(resources)) => resources
                .iter()
                .filter(|(_, r)| r.get("Type").and_then(Value::as_str) == Some(resource_type))
                .map(|(id, _)| id.clone())
                .collect(),
            _ => Vec::new(),
        }
    }

    /// A resource's `Metadata` (unresolved; SAM build settings, scanner suppressions).
    pub fn metadata(&self, logical_id: &str) -> Option<&Value> {
        self.root
            .get("Resources")
            .and_then(|r| r.get(logical_id))
            .and_then(|r| r.get("Metadata"))
    }

    /// The SAM `Globals` entry at `path` (e.g. `["Function", "Environment"]`), resolved.
    pub fn global(&self, path: &[&str]) -> Option<Value> {
        let found = path
            .iter()
            .try_fold(self.root.get("Globals")?, |v, key| v.get(key))?;
        Some(self.resolve(found))
    }

    /// Resolves every intrinsic the local stack can; the rest stays in long form.
    pub fn resolve(&self, value: &Value) -> Value {
        match value {
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|v| self.resolve(v))
                    .filter(|v| !is_no_value(v))
                    .collect(),
            ),
            Value::Object(map) => {
                if map.len() == 1 {
                    if let Some((key, arg)) = map.iter().next() {
                        if key == "Ref" || key.starts_with("Fn::") {
                            return self.intrinsic(key, arg).unwrap_or_else(|| value.clone());
                        }
                    }
                }
                Value::Object(
                    map.iter()
                        .map(|(k, v)| (k.clone(), self.resolve(v)))
                        .filter(|(_, v)| !is_no_value(v))
                        .collect(),
                )
            }
            other => other.clone(),
        }
    }

    /// `None` when the intrinsic cannot be resolved locally.
    fn intrinsic(&self, name: &str, arg: &Value) -> Option<Value> {
        match name {
            "Ref" => self.reference(arg.as_str()?),
            "Fn::Sub" => self.sub(arg),
            "Fn::If" => {
                let args = arg.as_array()?;
                let (cond, then, otherwise) = (args.first()?, args.get(1)?, args.get(2)?);
                let chosen = if self.condition(cond.as_str()?)? {
                    then
                } else {
                    otherwise
                };
                Some(self.resolve(chosen))
            }
            "Fn::Join" => {
                let args = arg.as_array()?;
                let sep = args.first()?.as_str()?;
                let items = self.resolve(args.get(1)?);
                let parts: Option<Vec<String>> =
                    items.as_array()?.iter().map(scalar_string).collect();
                Some(Value::String(parts?.join(sep)))
            }
            "Fn::Select" => {
                let args = arg.as_array()?;
                let index = scalar_string(&self.resolve(args.first()?))?
                    .parse::<usize>()
                    .ok()?;
                self.resolve(args.get(1)?).as_array()?.get(index).cloned()
            }
            "Fn::Split" => {
                let args = arg.as_array()?;
                let sep = args.first()?.as_str()?;
                let text = self.resolve(args.get(1)?);
                Some(Value::Array(
                    text.as_str()?
                        .split(sep)
                        .map(|s| Value::String(s.to_string()))
                        .collect(),
                ))
            }
            "Fn::FindInMap" => {
                let args: Vec<Value> = arg.as_array()?.iter().map(|a| self.resolve(a)).collect();
                let (map, top, second) = (
                    scalar_string(args.first()?)?,
                    scalar_string(args.get(1)?)?,
                    scalar_string(args.get(2)?)?,
                );
                let found = self.root.get("Mappings")?.get(map)?.get(top)?.get(second)?;
                Some(self.resolve(found))
            }
            "Fn::GetAtt" => {
                let (logical, attribute) = match arg {
                    Value::String(dotted) => dotted.split_once('.')?,
                    Value::Array(a) => (a.first()?.as_str()?, a.get(1)?.as_str()?),
                    _ => return None,
                };
                self.attribute(logical, attribute)
            }
            // Condition functions are evaluated only where a condition is expected.
            _ => None,
        }
    }

    fn reference(&self, name: &str) -> Option<Value> {
        if name == "AWS::NoValue" {
            return Some(Value::String(NO_VALUE.to_string()));
        }
        if let Some((_, v)) = PSEUDO.iter().find(|(n, _)| *n == name) {
            return Some(Value::String((*v).to_string()));
        }
        if let Some(refs) = self.resources.get(name) {
            return Some(Value::String(refs.reference.clone()));
        }
        self.parameters.get(name).map(|v| self.resolve(v))
    }

    fn attribute(&self, logical: &str, attribute: &str) -> Option<Value> {
        let refs = self.resources.get(logical)?;
        refs.attributes
            .get(attribute)
            .map(|v| Value::String(v.clone()))
    }

    fn sub(&self, arg: &Value) -> Option<Value> {
        let (text, vars) = match arg {
            Value::String(s) => (s.as_str(), None),
            Value::Array(a) => (a.first()?.as_str()?, a.get(1).and_then(Value::as_object)),
            _ => return None,
        };
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after.find('}')?;
            let var = &after[..end];
            if let Some(literal) = var.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            } else {
                let value = match vars.and_then(|v| v.get(var)) {
                    Some(v) => self.resolve(v),
                    None => match var.split_once('.') {
                        Some((logical, attribute)) => self.attribute(logical, attribute)?,
                        None => self.reference(var)?,
                    },
                };
                out.push_str(&scalar_string(&value)?);
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Some(Value::String(out))
    }

    fn condition(&self, name: &str) -> Option<bool> {
        let expr = self.root.get("Conditions")?.get(name)?;
        self.evaluate(expr)
    }

    fn evaluate(&self, expr: &Value) -> Option<bool> {
        let map = expr.as_object()?;
        let (op, arg) = map.iter().next()?;
        match op.as_str() {
            "Condition" => self.condition(arg.as_str()?),
            "Fn::Equals" => {
                let args = arg.as_array()?;
                let a = scalar_string(&self.resolve(args.first()?))?;
                let b = scalar_string(&self.resolve(args.get(1)?))?;
                Some(a == b)
            }
            "Fn::Not" => Some(!self.evaluate(arg.as_array()?.first()?)?),
            "Fn::And" => {
                let mut all = true;
                for a in arg.as_array()? {
                    all &= self.evaluate(a)?;
                }
                Some(all)
            }
            "Fn::Or" => {
                let mut any = false;
                for a in arg.as_array()? {
                    any |= self.evaluate(a)?;
                }
                Some(any)
            }
            _ => None,
        }
    }

    fn error(&self, message: String) -> Error {
        Error::Template {
            origin: self.origin.clone(),
            message,
        }
    }
}

/// One resource's resolved properties, with typed accessors whose errors name the property.
#[derive(Debug, Clone)]
pub struct Resource {
    origin: String,
    logical_id: String,
    properties: Value,
}

impl Resource {
    /// The resolved `Properties` object.
    pub fn properties(&self) -> &Value {
        &self.properties
    }

    /// The logical id in the template.
    pub fn logical_id(&self) -> &str {
        &self.logical_id
    }

    /// The property at `path` (object keys), if present.
    pub fn get(&self, path: &[&str]) -> Option<&Value> {
        path.iter().try_fold(&self.properties, |v, key| v.get(key))
    }

    /// A property that must exist.
    pub fn require(&self, path: &[&str]) -> Result<&Value> {
        self.get(path)
            .ok_or_else(|| self.error(path, "is required by the local stack but missing"))
    }

    /// A string property, if present; an error if present but not a plain string (e.g. an unresolved intrinsic).
    pub fn opt_str(&self, path: &[&str]) -> Result<Option<String>> {
        match self.get(path) {
            None => Ok(None),
            Some(v) => scalar_string(v)
                .map(Some)
                .ok_or_else(|| self.error(path, &format!("is not a string: {v}"))),
        }
    }

    /// An integer property, if present (CloudFormation accepts numbers as strings too).
    pub fn opt_i64(&self, path: &[&str]) -> Result<Option<i64>> {
        match self.get(path) {
            None => Ok(None),
            Some(v) => as_i64(v)
                .map(Some)
                .ok_or_else(|| self.error(path, &format!("is not an integer: {v}"))),
        }
    }

    /// A boolean property, if present (`true` or `"true"`).
    pub fn opt_bool(&self, path: &[&str]) -> Result<Option<bool>> {
        match self.get(path) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(v) => Err(self.error(path, &format!("is not a boolean: {v}"))),
        }
    }

    /// An error naming this resource and property.
    pub fn error(&self, path: &[&str], message: &str) -> Error {
        Error::Template {
            origin: self.origin.clone(),
            message: format!(
                "{}.Properties.{} {message}",
                self.logical_id,
                path.join(".")
            ),
        }
    }
}

/// A string, number or boolean as CloudFormation would stringify it.
pub fn scalar_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if s != NO_VALUE => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// An integer from a number or a numeric string.
pub fn as_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn is_no_value(v: &Value) -> bool {
    v.as_str() == Some(NO_VALUE)
}

/// YAML to JSON, rewriting short-form tags to CloudFormation's long form.
fn yaml_to_json(value: serde_yaml_ng::Value) -> Value {
    use serde_yaml_ng::Value as Y;
    match value {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map_or(Value::Null, Value::Number)
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(items.into_iter().map(yaml_to_json).collect()),
        Y::Mapping(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (yaml_key(k), yaml_to_json(v)))
                .collect(),
        ),
        Y::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let tag = tag.trim_start_matches('!');
            let inner = yaml_to_json(tagged.value);
            let mut map = Map::new();
            match tag {
                "Ref" => {
                    map.insert("Ref".to_string(), inner);
                }
                "Condition" => {
                    map.insert("Condition".to_string(), inner);
                }
                "GetAtt" => {
                    // `!GetAtt Res.Attr` is the string form of `Fn::GetAtt: [Res, Attr]`.
                    let arg = match inner {
                        Value::String(s) => match s.split_once('.') {
                            Some((res, attr)) => Value::Array(vec![
                                Value::String(res.to_string()),
                                Value::String(attr.to_string()),
                            ]),
                            None => Value::String(s),
                        },
                        other => other,
                    };
                    map.insert("Fn::GetAtt".to_string(), arg);
                }
                other => {
                    map.insert(format!("Fn::{other}"), inner);
                }
            }
            Value::Object(map)
        }
    }
}

fn yaml_key(key: serde_yaml_ng::Value) -> String {
    match key {
        serde_yaml_ng::Value::String(s) => s,
        other => scalar_string(&yaml_to_json(other)).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TEXT: &str = r#"
AWSTemplateFormatVersion: '2010-09-09'
Parameters:
  RetentionDays:
    Type: Number
    Default: 30
  Stage:
    Type: String
    Default: dev
  Key:
    Type: String
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
  NotProd: !Not [!Condition IsProd]
Resources:
  Thing:
    Type: AWS::Test::Thing
    Properties:
      Days: !Ref RetentionDays
      Name: !Sub "${AWS::StackName}-${Stage}-${!Literal}"
      Pair: !Sub ["${A}-${AWS::Region}", { A: !Ref Stage }]
      Joined: !Join ["/", [a, !Ref Stage]]
      Picked: !Select [1, !Split [",", "x,y,z"]]
      Kms: !GetAtt Key.Arn
      Unbound: !Ref Key
      Maybe: !If [IsProd, 1, !Ref "AWS::NoValue"]
      Other: !If [NotProd, yes-really, no]
      List: [1, !If [IsProd, 2, !Ref "AWS::NoValue"], 3]
"#;

    #[test]
    fn resolves_what_it_can_and_keeps_the_rest() -> Result<()> {
        let t = Template::parse(TEXT, "inline")?;
        let r = t.resource("Thing", "AWS::Test::Thing")?;
        assert_eq!(r.opt_i64(&["Days"])?, Some(30));
        assert_eq!(
            r.opt_str(&["Name"])?.as_deref(),
            Some("wavault-local-dev-${Literal}")
        );
        assert_eq!(r.opt_str(&["Pair"])?.as_deref(), Some("dev-us-east-1"));
        assert_eq!(r.opt_str(&["Joined"])?.as_deref(), Some("a/dev"));
        assert_eq!(r.opt_str(&["Picked"])?.as_deref(), Some("y"));
        assert_eq!(
            r.get(&["Kms"]),
            Some(&json!({"Fn::GetAtt": ["Key", "Arn"]}))
        );
        assert_eq!(r.get(&["Unbound"]), Some(&json!({"Ref": "Key"})));
        assert!(r.opt_str(&["Unbound"]).is_err());
        assert_eq!(r.get(&["Maybe"]), None);
        assert_eq!(r.opt_str(&["Other"])?.as_deref(), Some("yes-really"));
        assert_eq!(r.get(&["List"]), Some(&json!([1, 3])));

        let prod = Template::parse(TEXT, "inline")?.with_parameter("Stage", "prod");
        let r = prod.resource("Thing", "AWS::Test::Thing")?;
        assert_eq!(r.opt_i64(&["Maybe"])?, Some(1));
        assert_eq!(r.get(&["List"]), Some(&json!([1, 2, 3])));
        Ok(())
    }

    #[test]
    fn wrong_type_or_missing_resource_is_an_error() -> Result<()> {
        let t = Template::parse(TEXT, "inline")?;
        assert!(t.resource("Thing", "AWS::S3::Bucket").is_err());
        assert!(t.resource("Nope", "AWS::Test::Thing").is_err());
        assert!(Template::parse("a: [", "bad").is_err());
        assert!(Template::parse("a: 1", "no-resources").is_err());
        Ok(())
    }
}
