//! Encoding and decoding the 20-attribute model: dynox's derive against serde_dynamo and against
//! conversion written by hand with the SDK's types, taking turns one operation at a time.

use crate::harness::{Plan, Variant, alternate};
use crate::models::{Profile, SdkItem, profile_from_item, profile_to_item};
use crate::report::{Goal, Row, Unit};
use dynox::{FromItem, Model};
use std::hint::black_box;

const GROUP: &str = "codec";

/// Measures encode and encode+decode for the three forms; returns the report's rows.
pub fn run(plan: Plan) -> Vec<Row> {
    let p = Profile::sample(42);
    let mut variants = [
        Variant::wall("dynox encode", || {
            black_box(black_box(&p).to_item().expect("encodes"));
        }),
        Variant::wall("serde_dynamo encode", || {
            black_box(serde_dynamo::to_item::<_, SdkItem>(black_box(&p)).expect("encodes"));
        }),
        Variant::wall("hand encode", || {
            black_box(profile_to_item(black_box(&p)));
        }),
        Variant::wall("dynox round trip", || {
            let item = black_box(&p).to_item().expect("encodes");
            black_box(Profile::from_item(black_box(item)).expect("decodes"));
        }),
        Variant::wall("serde_dynamo round trip", || {
            let item: SdkItem = serde_dynamo::to_item(black_box(&p)).expect("encodes");
            black_box(serde_dynamo::from_item::<_, Profile>(black_box(item)).expect("decodes"));
        }),
        Variant::wall("hand round trip", || {
            let item = profile_to_item(black_box(&p));
            black_box(profile_from_item(black_box(item)).expect("decodes"));
        }),
    ];
    let m = alternate(plan, &mut variants);
    let allocs = |name: &str| m.of(name).iter().map(|s| s.allocs).collect::<Vec<_>>();
    vec![
        Row::new(
            GROUP,
            "encode+decode, 20 attributes: dynox / serde_dynamo",
            Unit::CostRatio,
            m.ratios("dynox round trip", "serde_dynamo round trip"),
        )
        .goal(Goal::at_most(0.5)),
        Row::new(
            GROUP,
            "encode+decode, 20 attributes: dynox / hand-written SDK",
            Unit::CostRatio,
            m.ratios("dynox round trip", "hand round trip"),
        )
        .goal(Goal::at_most(1.1)),
        Row::new(
            GROUP,
            "encode, 20 attributes: dynox / serde_dynamo",
            Unit::CostRatio,
            m.ratios("dynox encode", "serde_dynamo encode"),
        ),
        Row::new(
            GROUP,
            "encode, 20 attributes: dynox / hand-written SDK",
            Unit::CostRatio,
            m.ratios("dynox encode", "hand encode"),
        ),
        Row::new(
            GROUP,
            "encode+decode allocations: dynox",
            Unit::Allocations,
            allocs("dynox round trip"),
        ),
        Row::new(
            GROUP,
            "encode+decode allocations: hand-written SDK",
            Unit::Allocations,
            allocs("hand round trip"),
        ),
        Row::new(
            GROUP,
            "encode+decode allocations: serde_dynamo",
            Unit::Allocations,
            allocs("serde_dynamo round trip"),
        ),
    ]
}
