//! The schema of the sample population.

use crate::schema::Schema;

/// The JSON schema document of the sample (see [`schema`]).
pub const SCHEMA_JSON: &str = r#"{
  "traits": {
    "city": {"type": "string", "description": "City of residence"},
    "age_band": {"type": "string", "description": "18-24, 25-29, 30-34, 35-39 or 40+"},
    "gender": {"type": "string", "description": "female or male; missing when unknown"},
    "first_seen": {"type": "timestamp", "description": "First contact (friend added or earlier import)"},
    "baby_birth_date": {"type": "date", "personal": true, "description": "Baby's (expected) birth date"},
    "member_tier": {"type": "string", "description": "silver, gold or platinum; missing for non-members"},
    "channel": {"type": "string", "description": "Acquisition channel"},
    "points": {"type": "integer", "description": "Loyalty points balance"},
    "phone_masked": {"type": "string", "personal": true, "description": "Masked mobile number, e.g. 138****1234"},
    "nickname": {"type": "string", "personal": true, "description": "WeChat nickname"}
  },
  "events": {
    "friend_added": {"properties": {"channel": "string", "staff_id": "string"}},
    "group_joined": {"properties": {"group_id": "string"}},
    "message_sent": {"properties": {"message_id": "string", "channel": "string", "purpose": "string"}},
    "message_opened": {"properties": {"message_id": "string", "channel": "string"}},
    "message_replied": {"properties": {"message_id": "string", "channel": "string"}},
    "page_viewed": {"properties": {"category": "string", "page": "string"}},
    "consulted": {"properties": {"category": "string", "staff_id": "string"}},
    "coupon_claimed": {"properties": {"coupon_id": "string", "value": "float"}},
    "purchase": {"properties": {
      "amount": "float", "category": "string", "items": "integer", "order_id": "string",
      "delivery_city": {"type": "string", "personal": true}
    }},
    "referral": {"properties": {"referred_id": "string"}},
    "check_in": {"properties": {"streak": "integer"}}
  },
  "tag_groups": {
    "interest": {"exclusive": false, "description": "Declared or imported interests"},
    "rfm_class": {"exclusive": true, "description": "RFM class (one at a time)"},
    "lifecycle": {"exclusive": true, "description": "Lifecycle stage"}
  },
  "identity_namespaces": ["wechat_unionid", "phone_sha256", "member_card"]
}"#;

/// The [`Schema`] every generated profile and event validates against.
pub fn schema() -> Schema {
    Schema::from_json(SCHEMA_JSON).expect("the built-in sample schema is valid")
}
