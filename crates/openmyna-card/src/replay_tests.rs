//! Replays the APDU sequences of public card readers (`fixtures/clients.apdu`, each flow with
//! its source) against the virtual card, byte for byte, and checks every answer against
//! what that reader accepts.

use std::collections::BTreeMap;

use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};

use crate::engine::{Session, process};
use crate::keys::sha256_digest_info;
use crate::layout::KeyId;
use crate::personalize::{
    BlankCard, Certificates, ChosenPins, DataSigner, Holder, blank_card, install_certificates,
    install_holder, set_pins,
};
use crate::state::CardState;

const FIXTURES: &str = include_str!("../fixtures/clients.apdu");

struct CardSpec {
    born: String,
    expiry: String,
    code: String,
    number: String,
}

fn field<'a>(words: &[&'a str], key: &str) -> &'a str {
    words
        .iter()
        .find_map(|w| w.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
        .unwrap_or_else(|| panic!("card line lacks {key}="))
}

fn fake_cert(n: usize) -> Vec<u8> {
    let mut v = vec![0x30, 0x82, (n >> 8) as u8, n as u8];
    v.resize(n + 4, 0x5A);
    v
}

/// A card issued to the holder of `spec`, with the pictures the issuance renders.
fn issue(spec: &CardSpec, signer: &DataSigner) -> (CardState, BTreeMap<KeyId, Vec<u8>>) {
    let BlankCard {
        mut state,
        auth_spki,
        sign_spki,
    } = blank_card("RP00000000001", vec![3; 16], true).unwrap();
    let ca = fake_cert(0x300);
    install_certificates(
        &mut state,
        &Certificates {
            auth: &fake_cert(0x4A0),
            auth_ca: &ca,
            sign: Some(&fake_cert(0x5B0)),
            sign_ca: &ca,
        },
    )
    .unwrap();
    let pictures = crate::personalize::PictureSet::fixture();
    install_holder(
        &mut state,
        &Holder {
            my_number: &spec.number,
            name: "黒桐 幹也",
            address: "東京都清瀬市観布子南1-2-3",
            birth: &spec.born,
            sex: '1',
            expiry: &spec.expiry,
            security_code: &spec.code,
            municipality_code: "13221",
            pictures: pictures.borrow(),
        },
        signer,
    )
    .unwrap();
    set_pins(
        &mut state,
        &ChosenPins {
            auth: "1234",
            sign: Some("ABC123"),
            assist: "5678",
            juki: "5678",
        },
    )
    .unwrap();
    let mut public = BTreeMap::new();
    public.insert(KeyId::Auth, auth_spki);
    public.insert(KeyId::Sign, sign_spki.unwrap());
    for k in [KeyId::Assist, KeyId::Face] {
        public.insert(k, state.keys[&k].public_spki().unwrap());
    }
    (state, public)
}

/// The bytes of an APDU line: hex, "text", {DI-LAST}, {DI-TEXT}.
fn apdu_bytes(line: &str, last: &[u8], signed: &mut Vec<u8>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = line.trim();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('"') {
            let end = r.find('"').expect("closing quote");
            out.extend_from_slice(&r.as_bytes()[..end]);
            rest = r[end + 1..].trim_start();
        } else if let Some(r) = rest.strip_prefix('{') {
            let end = r.find('}').expect("closing brace");
            let message = match &r[..end] {
                "DI-LAST" => last.to_vec(),
                "DI-TEXT" => b"openmyna".to_vec(),
                other => panic!("unknown placeholder {other}"),
            };
            let hash = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &message);
            out.extend(sha256_digest_info(hash.as_ref().try_into().unwrap()));
            *signed = message;
            rest = r[end + 1..].trim_start();
        } else {
            let end = rest.find([' ', '"', '{']).unwrap_or(rest.len());
            let hex = &rest[..end];
            assert!(hex.len().is_multiple_of(2), "odd hex {hex:?}");
            for i in (0..hex.len()).step_by(2) {
                out.push(u8::from_str_radix(&hex[i..i + 2], 16).unwrap());
            }
            rest = rest[end..].trim_start();
        }
    }
    out
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn check(
    what: &str,
    expect: &str,
    data: &[u8],
    sw: u16,
    signed: &[u8],
    keys: &BTreeMap<KeyId, Vec<u8>>,
) {
    let mut parts = expect.split_whitespace();
    let want_sw = u16::from_str_radix(parts.next().unwrap(), 16).unwrap();
    assert_eq!(
        sw, want_sw,
        "{what}: status word {sw:04X}, expected {want_sw:04X}"
    );
    let rest: Vec<&str> = parts.collect();
    let rest = rest.join(" ");
    let mut rest = rest.as_str();
    while !rest.is_empty() {
        let (item, tail) = if let Some(r) = rest.strip_prefix("ascii=\"") {
            let end = r.find('"').unwrap();
            let text = &r[..end];
            assert!(
                data.starts_with(text.as_bytes()),
                "{what}: data does not start with {text:?}"
            );
            ("", &r[end + 1..])
        } else {
            let end = rest.find(' ').unwrap_or(rest.len());
            (&rest[..end], &rest[end..])
        };
        rest = tail.trim_start();
        if item.is_empty() {
            continue;
        }
        if let Some(n) = item.strip_prefix("len=") {
            assert_eq!(data.len(), n.parse::<usize>().unwrap(), "{what}: length");
        } else if let Some(p) = item.strip_prefix("prefix=") {
            let p = unhex(p);
            assert!(
                data.starts_with(&p),
                "{what}: data {:02X?} does not start with {p:02X?}",
                &data[..data.len().min(p.len())]
            );
        } else if let Some(k) = item.strip_prefix("sig=") {
            let key = match k {
                "auth" => KeyId::Auth,
                "sign" => KeyId::Sign,
                "assist" => KeyId::Assist,
                "face" => KeyId::Face,
                other => panic!("unknown key {other}"),
            };
            let spki = &keys[&key];
            // SPKI → the RSAPublicKey inside, as the verifier takes it.
            let rsa = spki_rsa_public_key(spki);
            UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, rsa)
                .verify(signed, data)
                .unwrap_or_else(|_| panic!("{what}: signature does not verify with {k}"));
        } else if item == "jp2" {
            let (outer, _) = crate::ber::parse(data).expect("EF 0002 parses");
            let kids = crate::ber::children(outer.value).unwrap();
            let face = kids.iter().find(|t| t.tag == 0xDF27).expect("DF27");
            assert!(
                face.value
                    .starts_with(&[0, 0, 0, 0x0C, b'j', b'P', b' ', b' '])
                    || face.value.starts_with(&[0xFF, 0x4F, 0xFF, 0x51]),
                "{what}: DF27 is not JPEG 2000"
            );
        } else {
            panic!("{what}: unknown expectation {item}");
        }
    }
}

fn spki_rsa_public_key(spki: &[u8]) -> &[u8] {
    let (seq, _) = crate::ber::parse(spki).unwrap();
    let kids = crate::ber::children(seq.value).unwrap();
    // BIT STRING: one byte of unused bits, then the RSAPublicKey.
    &kids[1].value[1..]
}

#[test]
fn public_readers_flows_replay_byte_for_byte() {
    let (signer, _) = DataSigner::generate().unwrap();
    let mut specs = BTreeMap::new();
    let mut cards: BTreeMap<String, (CardState, BTreeMap<KeyId, Vec<u8>>)> = BTreeMap::new();
    let mut flows = 0;
    let mut current: Option<(String, String, Session)> = None;
    let mut signed = Vec::new();
    let mut last = Vec::new();
    for (n, raw) in FIXTURES.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(rest) = line.strip_prefix("card ") {
            let words: Vec<&str> = rest.split_whitespace().collect();
            specs.insert(
                words[0].to_owned(),
                CardSpec {
                    born: field(&words, "born").into(),
                    expiry: field(&words, "expiry").into(),
                    code: field(&words, "code").into(),
                    number: field(&words, "number").into(),
                },
            );
        } else if let Some(rest) = line.strip_prefix("flow ") {
            let (head, _source) = rest.split_once('|').expect("flow NAME card=X | source");
            let mut w = head.split_whitespace();
            let name = w.next().unwrap().to_owned();
            let card = w.next().unwrap().strip_prefix("card=").unwrap().to_owned();
            // Each flow starts on a freshly issued card, just powered on.
            let spec = &specs[&card];
            cards.insert(name.clone(), issue(spec, &signer));
            current = Some((name, card, Session::default()));
            flows += 1;
        } else if let Some(rest) = line.strip_prefix('>') {
            let (apdu, expect) = rest.split_once("=>").expect("> APDU => EXPECT");
            let (name, _, session) = current.as_mut().expect("a flow first");
            let (state, keys) = cards.get_mut(name.as_str()).unwrap();
            let bytes = apdu_bytes(apdu, &last, &mut signed);
            let o = process(state, session, &bytes);
            let what = format!("{name} line {}: {}", n + 1, apdu.trim());
            check(
                &what,
                expect.trim(),
                &o.response.data,
                o.response.sw.0,
                &signed,
                keys,
            );
            last = o.response.data;
        } else {
            panic!("line {}: cannot read {line:?}", n + 1);
        }
    }
    assert!(flows >= 12, "{flows} flows");
}
