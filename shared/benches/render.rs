//! Render + compress + encode + sign a 1,048,576-entry 2-bit list with 1 % of entries INVALID
//! at random positions, each stage timed on its own, with bare zlib level 9 on the same bytes
//! as the floor. Prints the compressed and token sizes. Run with `make bench`.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use criterion::{Criterion, criterion_group, criterion_main};
use rand::{Rng, SeedableRng, rngs::StdRng};
use shared::adapters::local_signer::LocalSigner;
use shared::domain::deflate::compress_level9;
use shared::domain::token::{cwt, jwt};
use shared::{Bits, Signer, Status, StatusList, StatusListToken};
use std::hint::black_box;

const SIZE: u64 = 1 << 20;

fn positions() -> Vec<u64> {
    let mut rng = StdRng::seed_from_u64(42);
    (0..SIZE / 100).map(|_| rng.gen_range(0..SIZE)).collect()
}

fn render(positions: &[u64]) -> StatusList {
    let mut list = StatusList::new(Bits::TWO, SIZE).unwrap();
    for &p in positions {
        list.set(p, Status::INVALID).unwrap();
    }
    list
}

fn bench(c: &mut Criterion) {
    let positions = positions();
    let list = render(&positions);
    let compressed = list.compress();
    let signer = LocalSigner::generate();
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let kid = runtime.block_on(signer.identity()).unwrap().kid.clone();
    let token = StatusListToken {
        sub: "https://status.example/t/bench".into(),
        iat: 1_800_000_000,
        exp: Some(1_800_043_200),
        ttl: Some(43200),
        iss: None,
        aggregation_uri: None,
        list: list.clone(),
    };
    let jwt_token = runtime
        .block_on(shared::signing::jwt_compressed(&token, &compressed, &signer, &[]))
        .unwrap();
    let cwt_token = runtime
        .block_on(shared::signing::cwt_compressed(&token, &compressed, &signer, &[]))
        .unwrap();
    println!(
        "list: {} entries x 2 bits = {} bytes; {} INVALID writes ({} distinct); zlib-9: {} bytes; JWT: {} bytes; CWT: {} bytes",
        SIZE,
        list.as_bytes().len(),
        positions.len(),
        list.non_valid().count(),
        compressed.len(),
        jwt_token.len(),
        cwt_token.len()
    );

    let mut g = c.benchmark_group("render_1Mi_2bit_1pct");
    g.sample_size(20);
    g.bench_function("1_set_statuses", |b| b.iter(|| render(black_box(&positions))));
    g.bench_function("2_compress", |b| b.iter(|| black_box(&list).compress()));
    g.bench_function("2_floor_bare_zlib9", |b| {
        b.iter(|| compress_level9(black_box(list.as_bytes())))
    });
    g.bench_function("3_base64url", |b| {
        b.iter(|| URL_SAFE_NO_PAD.encode(black_box(&compressed)))
    });
    g.bench_function("3_jwt_signing_input", |b| {
        b.iter(|| jwt::signing_input(black_box(&token), &kid, &[], black_box(&compressed)))
    });
    g.bench_function("3_cbor_status_list", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(compressed.len() + 32);
            ciborium::into_writer(
                &cwt::status_list_cbor(Bits::TWO, black_box(&compressed), None),
                &mut out,
            )
            .unwrap();
            out
        })
    });
    let input = jwt::signing_input(&token, &kid, &[], &compressed);
    g.bench_function("4_sign_es256_local", |b| {
        b.iter(|| runtime.block_on(signer.sign(black_box(input.as_bytes()))).unwrap())
    });
    g.bench_function("all_jwt", |b| {
        b.iter(|| {
            let t = StatusListToken {
                list: render(&positions),
                ..token.clone()
            };
            runtime.block_on(shared::signing::jwt(&t, &signer)).unwrap()
        })
    });
    g.bench_function("all_cwt", |b| {
        b.iter(|| {
            let t = StatusListToken {
                list: render(&positions),
                ..token.clone()
            };
            runtime.block_on(shared::signing::cwt(&t, &signer)).unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
