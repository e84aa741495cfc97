//! Engine tests: every status-word path, the PIN state machine through APDUs, signatures
//! checked against the public key, the personalised files parsed as readers parse them, and
//! random APDUs that must never panic.

use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha20Rng;

use crate::ber;
use crate::engine::{Session, process};
use crate::keys::sha256_digest_info;
use crate::personalize::{
    BlankCard, Certificates, ChosenPins, DataSigner, Holder, blank_card, install_certificates,
    install_holder, set_pins,
};
use crate::state::CardState;

const JPKI: &str = "00A4040C0AD392F000260100000001";
const ASSIST: &str = "00A4040C0AD3921000310001010408";

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn fake_cert(n: usize, fill: u8) -> Vec<u8> {
    let mut v = vec![0x30, 0x82, (n >> 8) as u8, n as u8];
    v.extend(std::iter::repeat_n(fill, n));
    v
}

struct Fixture {
    card: CardState,
    auth_spki: Vec<u8>,
    sign_spki: Vec<u8>,
    signer: DataSigner,
    auth_cert: Vec<u8>,
}

fn fixture() -> Fixture {
    let BlankCard {
        mut state,
        auth_spki,
        sign_spki,
    } = blank_card("AB12345678901", vec![9; 16], true).unwrap();
    let auth_cert = fake_cert(0x4A0, 0xA1);
    let sign = fake_cert(0x5B0, 0x51);
    let ca = fake_cert(0x300, 0xCA);
    install_certificates(
        &mut state,
        &Certificates {
            auth: &auth_cert,
            auth_ca: &ca,
            sign: Some(&sign),
            sign_ca: &ca,
        },
    )
    .unwrap();
    let (signer, _) = DataSigner::generate().unwrap();
    let pictures = crate::personalize::PictureSet::blank();
    install_holder(
        &mut state,
        &Holder {
            my_number: "123456789018",
            name: "山田 太郎",
            address: "東京都千代田区霞が関二丁目1番2号",
            birth: "19900115",
            sex: '1',
            expiry: "20350115",
            security_code: "4321",
            municipality_code: "13101",
            pictures: pictures.borrow(),
        },
        &signer,
    )
    .unwrap();
    set_pins(
        &mut state,
        &ChosenPins {
            auth: "1234",
            sign: Some("abc123"),
            assist: "5678",
            juki: "5678",
        },
    )
    .unwrap();
    Fixture {
        card: state,
        auth_spki,
        sign_spki: sign_spki.unwrap(),
        signer,
        auth_cert,
    }
}

struct Run<'a> {
    card: &'a mut CardState,
    s: Session,
}

impl Run<'_> {
    fn tx(&mut self, apdu: &[u8]) -> (Vec<u8>, u16, bool) {
        let o = process(self.card, &mut self.s, apdu);
        (o.response.data, o.response.sw.0, o.state_changed)
    }
    fn sw(&mut self, h: &str) -> u16 {
        self.tx(&hex(h)).1
    }
}

fn run(card: &mut CardState) -> Run<'_> {
    Run {
        card,
        s: Session::default(),
    }
}

#[test]
fn select_paths() {
    let mut f = fixture();
    let mut r = run(&mut f.card);
    assert_eq!(r.sw("00A4020C02000A"), 0x6A82, "EF before any DF");
    assert_eq!(r.sw(JPKI), 0x9000);
    assert_eq!(
        r.sw("00A4040C07A0000001510000"),
        0x9000,
        "the issuer security domain (case 4): back to the power-on state"
    );
    assert_eq!(
        r.sw("00A4020C02000A"),
        0x6A82,
        "no application after the ISD"
    );
    assert_eq!(
        r.sw("00A40000"),
        0x6A86,
        "SELECT without data at the top level"
    );
    assert_eq!(r.sw(JPKI), 0x9000);
    assert_eq!(r.sw("00A40000"), 0x9000, "inside an application: no change");
    assert_eq!(r.sw("00A4040007627601FF000000"), 0x6A82, "coolkey probe");
    assert_eq!(r.sw("00A4040006A00000000101"), 0x6A82, "muscle probe");
    assert_eq!(r.sw("00A4040400"), 0x6A86, "P2 04");
    assert_eq!(r.sw("00A4020C020099"), 0x6A82, "unknown FID");
    assert_eq!(r.sw("00A4020C0300"), 0x6700, "FID of 3 bytes");
    assert_eq!(r.sw("00A4020C03000A00"), 0x6700, "FID of 3 bytes");
    assert_eq!(r.sw("00A4020C02000A"), 0x9000);
    assert_eq!(
        r.sw("00A4000C023F00"),
        0x6A82,
        "no addressable MF, as real cards"
    );
    assert_eq!(
        r.sw("00A4020C02000A"),
        0x9000,
        "the application is still current"
    );
    assert_eq!(r.sw("00A4080C02000A"), 0x6A86, "path selection");
}

#[test]
fn read_binary_paths() {
    let mut f = fixture();
    let cert = f.auth_cert.clone();
    let mut r = run(&mut f.card);
    assert_eq!(r.sw("00B0000004"), 0x6986, "no current EF");
    r.sw(JPKI);
    assert_eq!(r.sw("00B0000004"), 0x6986, "DF but no EF");
    r.sw("00A4020C02000A");
    let (d, sw, changed) = r.tx(&hex("00B0000004"));
    assert_eq!((d.as_slice(), sw, changed), (&cert[..4], 0x9000, false));
    // OpenSC's loop: 256-byte chunks, Le 00.
    let size = (usize::from(d[2]) << 8 | usize::from(d[3])) + 4;
    let mut all = Vec::new();
    while all.len() < size {
        let off = all.len();
        let le = (size - off).min(256);
        let apdu = [
            0,
            0xB0,
            (off >> 8) as u8,
            off as u8,
            if le == 256 { 0 } else { le as u8 },
        ];
        let (d, sw, _) = r.tx(&apdu);
        assert_eq!(sw, 0x9000);
        all.extend(d);
    }
    assert_eq!(all, cert);
    // Extended Le reads it at once; an SFI read too.
    let (d, sw, _) = r.tx(&hex("00B00000000000"));
    assert_eq!((d, sw), (cert.clone(), 0x9000));
    r.sw("00A4020C02000B");
    let (d, sw, _) = r.tx(&hex("00B08A00000600"));
    assert_eq!((d, sw), (cert.clone(), 0x9000), "SFI 0A, extended Le 0600");
    let (d, sw, _) = r.tx(&hex("00B08A0004"));
    assert_eq!((d.as_slice(), sw), (&cert[..4], 0x9000));
    // An Le past the end: the rest (a short answer tells the end); an offset past the end:
    // 6B00.
    let off = cert.len() - 10;
    let (d, sw, _) = r.tx(&[0, 0xB0, (off >> 8) as u8, off as u8, 0x20]);
    assert_eq!((d.as_slice(), sw), (&cert[off..], 0x9000));
    let off = cert.len() + 1;
    assert_eq!(r.tx(&[0, 0xB0, (off >> 8) as u8, off as u8, 1]).1, 0x6B00);
    assert_eq!(r.sw("00B0000000FF"), 0x6700, "data in READ BINARY");
    assert_eq!(r.sw("00B00000"), 0x6700, "no Le");
    assert_eq!(r.sw("00B0A00004"), 0x6A86, "bad SFI byte");
    assert_eq!(r.sw("00B09F0004"), 0x6A82, "SFI of no EF");
    r.sw("00A4020C020018");
    assert_eq!(r.sw("00B0000004"), 0x6981, "a PIN EF is not readable");
    r.sw("00A4020C020017");
    assert_eq!(r.sw("00B0000004"), 0x6981, "a key EF is not readable");
}

#[test]
fn token_info_and_flags() {
    let mut f = fixture();
    let mut r = run(&mut f.card);
    r.sw(JPKI);
    r.sw("00A4020C020006");
    let (d, sw, _) = r.tx(&hex("00B0000000"));
    assert_eq!((d.len(), sw), (160, 0x9000));
    assert_eq!(&d[..32], b"JPKIAPICCTOKEN2                 ");
    r.sw("00A4020C020008");
    assert_eq!(r.tx(&hex("00B0000003")).0, vec![0x8F, 0x8F, 0x00]);
}

#[test]
fn signing_certificate_needs_the_signing_password() {
    let mut f = fixture();
    let mut r = run(&mut f.card);
    r.sw(JPKI);
    r.sw("00A4020C020001");
    assert_eq!(r.sw("00B0000004"), 0x6982);
    r.sw("00A4020C02001B");
    assert_eq!(r.sw("0020008006414243313233"), 0x9000, "ABC123");
    r.sw("00A4020C020001");
    assert_eq!(r.tx(&hex("00B0000004")).1, 0x9000);
    // Selecting the same DF again keeps the security status (readers re-select before each
    // operation); selecting another application drops it.
    r.sw(JPKI);
    r.sw("00A4020C020001");
    assert_eq!(r.sw("00B0000004"), 0x9000);
    r.sw(ASSIST);
    r.sw(JPKI);
    r.sw("00A4020C020001");
    assert_eq!(r.sw("00B0000004"), 0x6982);
}

#[test]
fn pin_counter_through_apdus() {
    let mut f = fixture();
    let mut r = run(&mut f.card);
    r.sw(JPKI);
    assert_eq!(r.sw("00200080"), 0x6986, "no current EF");
    r.sw("00A4020C02000A");
    assert_eq!(
        r.sw("0020008004 31323334"),
        0x6981,
        "VERIFY on a certificate"
    );
    r.sw("00A4020C020018");
    assert_eq!(r.tx(&hex("00200080")), (vec![], 0x63C3, false));
    assert_eq!(r.tx(&hex("0020008004 30303030")), (vec![], 0x63C2, true));
    assert_eq!(r.tx(&hex("0020008004 31323334")), (vec![], 0x9000, true));
    assert_eq!(
        r.tx(&hex("00200080")),
        (vec![], 0x63C3, false),
        "63 Cx even after success"
    );
    assert_eq!(
        r.tx(&hex("0020008004 31323334")),
        (vec![], 0x9000, true),
        "every presented value is written before the answer"
    );
    for left in [2u16, 1, 0] {
        assert_eq!(
            r.tx(&hex("0020008004 39393939")),
            (vec![], 0x63C0 | left, true)
        );
    }
    assert_eq!(
        r.tx(&hex("0020008004 31323334")),
        (vec![], 0x6984, false),
        "locked: 69 84 after the 63 C0 of the last try"
    );
    assert_eq!(r.sw("00200080"), 0x63C0);
    assert_eq!(r.sw("00200098"), 0x63C0, "SFI form");
    assert_eq!(r.sw("0020009B"), 0x63C5, "SFI form, signing password");
    assert_eq!(r.sw("00200099"), 0x6A88, "SFI of no PIN");
    assert_eq!(
        r.sw("00200081"),
        0x6981,
        "SFI 1 is the signing certificate, not a PIN"
    );
    assert_eq!(r.sw("00200000"), 0x6A86);
    assert_eq!(r.sw("00200180"), 0x6A86);
    // The municipality's reset.
    r.card.reset_pin(crate::PinId::Auth, None).unwrap();
    assert_eq!(r.sw("00200098"), 0x63C3);
    assert_eq!(r.sw("0020009804 31323334"), 0x9000);
}

#[test]
fn change_reference_data() {
    let mut f = fixture();
    let mut r = run(&mut f.card);
    r.sw(JPKI);
    r.sw("00A4020C020018");
    assert_eq!(r.sw("0024018004 39383736"), 0x6982, "not verified");
    r.sw("0020008004 31323334");
    assert_eq!(r.sw("0024018003 393837"), 0x6A80, "3 digits");
    assert_eq!(r.sw("0024018004 3938373A"), 0x6A80, "not a digit");
    assert_eq!(r.tx(&hex("0024018004 39383736")), (vec![], 0x9000, true));
    assert_eq!(r.sw("0020008004 31323334"), 0x63C2);
    assert_eq!(r.sw("0020008004 39383736"), 0x9000);
    assert_eq!(r.sw("0024008008 39383736 31313131"), 0x9000, "old and new");
    assert_eq!(r.sw("0020008004 31313131"), 0x9000);
    assert_eq!(
        r.sw("0024008008 30303030 31313131"),
        0x63C2,
        "wrong old value"
    );
    assert_eq!(r.sw("0024028004 31313131"), 0x6A86);
    r.sw("00A4020C02001B");
    assert_eq!(
        r.sw("0024008008 30303030 31313131"),
        0x6A86,
        "variable length: P1 00 not possible"
    );
    r.sw("0020008006 414243313233");
    assert_eq!(r.sw("0024018006 414243444546"), 0x6A80, "no digit");
    assert_eq!(r.sw("0024018007 5A595831323334"), 0x9000, "ZYX1234");
    assert_eq!(r.sw("0020008007 5A595831323334"), 0x9000);
}

#[test]
fn signatures_verify_with_the_certified_key() {
    let mut f = fixture();
    let auth_spki = f.auth_spki.clone();
    let sign_spki = f.sign_spki.clone();
    let msg = b"openmyna signs this";
    let hash: [u8; 32] = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, msg)
        .as_ref()
        .try_into()
        .unwrap();
    let di = sha256_digest_info(&hash);
    let mut apdu = hex("802A008033");
    apdu.extend(&di);
    apdu.push(0);
    let mut r = run(&mut f.card);
    r.sw(JPKI);
    r.sw("00A4020C020017");
    assert_eq!(r.tx(&apdu).1, 0x6982, "before the PIN");
    r.sw("00A4020C020018");
    r.sw("0020008004 31323334");
    assert_eq!(r.tx(&apdu).1, 0x6981, "current EF is the PIN EF");
    r.sw("00A4020C020017");
    let (sig, sw, changed) = r.tx(&apdu);
    assert_eq!((sig.len(), sw, changed), (256, 0x9000, false));
    let verify = |spki: &[u8], sig: &[u8]| {
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, spki)
            .verify(msg, sig)
            .is_ok()
    };
    assert!(verify(&auth_spki, &sig));
    assert!(!verify(&sign_spki, &sig));
    // SFI form on the signing key needs the signing password.
    let mut sfi = apdu.clone();
    sfi[3] = 0x9A;
    assert_eq!(r.tx(&sfi).1, 0x6982);
    r.sw("0020009B06 414243313233");
    let (sig, sw, _) = r.tx(&sfi);
    assert_eq!(sw, 0x9000);
    assert!(verify(&sign_spki, &sig));
    // The card hashes (P1 03); a bare hash (P1 02).
    let mut p3 = vec![0x80, 0x2A, 0x03, 0x97, msg.len() as u8];
    p3.extend(msg);
    p3.push(0);
    assert!(verify(&auth_spki, &r.tx(&p3).0));
    let mut p2 = hex("802A029720");
    p2.extend(hash);
    p2.push(0);
    assert!(verify(&auth_spki, &r.tx(&p2).0));
    // Refusals.
    assert_eq!(r.sw("802A00970401020304 00"), 0x6A80, "not a DigestInfo");
    assert_eq!(r.sw("802A0097 00"), 0x6700, "no data");
    assert_eq!(r.sw("802A0197 0401020304 00"), 0x6A81, "P1 01");
    assert_eq!(r.sw("802A0997 0401020304 00"), 0x6A86, "P1 09");
    assert_eq!(
        r.sw("802A008A 0401020304 00"),
        0x6981,
        "SFI of a certificate"
    );
    assert_eq!(r.sw("802A0000 0401020304 00"), 0x6A86, "P2 00");
}

#[test]
fn a_card_without_signing_key_answers_like_one_with_a_locked_password() {
    let BlankCard { mut state, .. } = blank_card("AB12345678901", vec![1; 16], false).unwrap();
    let c = fake_cert(0x300, 1);
    install_certificates(
        &mut state,
        &Certificates {
            auth: &c,
            auth_ca: &c,
            sign: None,
            sign_ca: &c,
        },
    )
    .unwrap();
    set_pins(
        &mut state,
        &ChosenPins {
            auth: "1234",
            sign: None,
            assist: "1234",
            juki: "1234",
        },
    )
    .unwrap();
    let mut r = run(&mut state);
    r.sw(JPKI);
    assert_eq!(r.sw("00A4020C020001"), 0x6A82, "no signing certificate");
    assert_eq!(r.sw("00A4020C02001A"), 0x6A82, "no signing key");
    assert_eq!(r.sw("00A4020C02001B"), 0x9000);
    assert_eq!(r.sw("00200080"), 0x63C0, "OpenSC needs 63 Cx to bind");
    assert_eq!(r.sw("0020008006 414243313233"), 0x6984);
    r.sw("00A4020C020008");
    assert_eq!(r.tx(&hex("00B0000003")).0, vec![0x00, 0x8F, 0x00]);
}

#[test]
fn a_verification_lapses_when_another_holder_changes_the_pin() {
    let mut f = fixture();
    let mut s = Session::default();
    for h in [
        JPKI,
        "00A4020C020018",
        "0020008004 31323334",
        "00A4020C020017",
    ] {
        process(&mut f.card, &mut s, &hex(h));
    }
    let mut apdu = hex("802A0080");
    apdu.push(51);
    apdu.extend(sha256_digest_info(&[7; 32]));
    apdu.push(0);
    assert_eq!(process(&mut f.card, &mut s, &apdu).response.sw.0, 0x9000);
    // The municipality (another process) resets the PIN with a new value.
    f.card.reset_pin(crate::PinId::Auth, Some(b"9999")).unwrap();
    assert_eq!(process(&mut f.card, &mut s, &apdu).response.sw.0, 0x6982);
}

#[test]
fn instruction_and_class_errors() {
    let mut f = fixture();
    let mut r = run(&mut f.card);
    assert_eq!(
        r.sw("00CADF3005"),
        0x6A88,
        "GET DATA of an object the card lacks"
    );
    assert_eq!(r.sw("00CB3FFF035C017E08"), 0x6D00);
    let (challenge, sw, _) = r.tx(&hex("0084000008"));
    assert_eq!((challenge.len(), sw), (8, 0x9000), "GET CHALLENGE");
    assert_eq!(
        r.sw("00840000000008"),
        0x6985,
        "GET CHALLENGE with an extended Le"
    );
    assert_eq!(r.sw("b03c0100"), 0x6E00, "class B0");
    assert_eq!(r.sw("0C200080"), 0x6E00, "secure messaging");
    assert_eq!(r.sw("00A4"), 0x6700);
    assert_eq!(
        r.sw("00B2010C00"),
        0x6D00,
        "READ RECORD outside the record application"
    );
}

#[test]
fn manufacturing_number_record() {
    let mut f = fixture();
    let mut r = run(&mut f.card);
    r.sw("00A4040C0AD3921000310001010100");
    let (d, sw, _) = r.tx(&hex("00B2010C00"));
    assert_eq!(sw, 0x9000);
    let (t, _) = ber::parse(&d).unwrap();
    assert_eq!(&t.value[2..15], b"AB12345678901");
    assert_eq!(r.sw("00B2020C00"), 0x6A83);
    assert_eq!(r.sw("00B2011400"), 0x6A86, "SFI 2");
}

#[test]
fn assist_ap_data_verifies_as_readers_check_it() {
    let mut f = fixture();
    let signer_pub = f.signer.public_key_der();
    let mut r = run(&mut f.card);
    r.sw(ASSIST);
    r.sw("00A4020C020001");
    assert_eq!(r.sw("00B0000011"), 0x6982);
    r.sw("00A4020C020011");
    assert_eq!(r.sw("00200080"), 0x63C3);
    assert_eq!(r.sw("0020008004 35363738"), 0x9000);
    // myna: EF 0001 read 17 bytes, BER.
    r.sw("00A4020C020001");
    let (my_number, sw, _) = r.tx(&hex("00B0000011"));
    assert_eq!(sw, 0x9000);
    let (t, _) = ber::parse(&my_number).unwrap();
    assert_eq!((t.tag, t.value), (0xFF10, &b"123456789018"[..]));
    assert_eq!(
        &my_number[15..],
        [0xFF, 0xFF],
        "two filler bytes, as real cards"
    );
    assert_eq!(r.tx(&hex("00B081030C")).0, b"123456789018", "SFI, offset 3");
    // EF 0002 read as myna does: 7 bytes, then the rest from the BER header.
    r.sw("00A4020C020002");
    let head = r.tx(&hex("00B0000007")).0;
    let total = ber::encoded_len(&head).unwrap();
    let rest = r.tx(&[0, 0xB0, 0, 7, (total - 7) as u8]).0;
    let basic4 = [head, rest].concat();
    let (outer, _) = ber::parse(&basic4).unwrap();
    assert_eq!(outer.tag, 0xFF20);
    let kids = ber::children(outer.value).unwrap();
    let tags: Vec<u32> = kids.iter().map(|k| k.tag).collect();
    assert_eq!(tags, [0xDF21, 0xDF22, 0xDF23, 0xDF24, 0xDF25]);
    assert_eq!(kids[1].value, "山田 太郎".as_bytes());
    assert_eq!(kids[4].value, b"1");
    // The offsets point at each item, counted from the first byte of the file.
    for i in 0..4 {
        let off = usize::from(u16::from_be_bytes([
            kids[0].value[2 * i],
            kids[0].value[2 * i + 1],
        ]));
        assert_eq!(ber::parse(&basic4[off..]).unwrap().0, kids[i + 1]);
    }
    // EF 0003 (336 bytes, as pymyna asserts) and EF 0004 (568 bytes).
    r.sw("00A4020C020003");
    let (sig_ef, sw, _) = r.tx(&hex("00B00000000150"));
    assert_eq!((sig_ef.len(), sw), (336, 0x9000));
    r.sw("00A4020C020004");
    let (cv, _, _) = r.tx(&hex("00B00000000238"));
    assert_eq!(cv.len(), 568);
    r.sw("00A4020C020005");
    let info = r.tx(&hex("00B00000000100")).0;
    assert_eq!(info.len(), 256);
    assert_eq!(
        info[..5],
        [0xFF, 0x40, 0x82, 0x00, 0x9F],
        "the real EF 0005 header"
    );
    // pymyna's checks: digests and the signature over the two digest TLVs.
    let (s, _) = ber::parse(&sig_ef).unwrap();
    let sk = ber::children(s.value).unwrap();
    let sha = |b: &[u8]| {
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, b)
            .as_ref()
            .to_vec()
    };
    assert_eq!(sk[0].value, sha(&my_number));
    assert_eq!(sk[1].value, sha(&outer.value[11..]));
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &signer_pub)
        .verify(&s.value[..70], sk[2].value)
        .unwrap();
    // The card-verifiable certificate: AKI‖SKI‖public key (297 bytes), signature.
    let (c, _) = ber::parse(&cv).unwrap();
    let ck = ber::children(c.value).unwrap();
    assert_eq!((ck[0].tag, ck[0].value.len()), (0x5F4E, 297));
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &signer_pub)
        .verify(ck[0].value, ck[1].value)
        .unwrap();
}

#[test]
fn face_ap_opens_with_either_collation_number() {
    let mut f = fixture();
    let mut r = run(&mut f.card);
    r.sw("00A4040C0AD3921000310001010402");
    r.sw("00A4020C020002");
    assert_eq!(r.sw("00B0000007"), 0x6982);
    r.sw("00A4020C020012");
    // 照合番号B: birth 1990-01-15 in the era (平成2: 020115), expiry year 2035, security
    // code 4321. The Gregorian form no longer opens it.
    assert_eq!(r.sw("002000800E 3930303131353230333534333231"), 0x63C9);
    assert_eq!(r.sw("002000800E 3032303131353230333534333231"), 0x9000);
    r.sw("00A4020C020002");
    let (d, sw, _) = r.tx(&hex("00B00000000000"));
    assert_eq!(sw, 0x9000);
    let (t, _) = ber::parse(&d).unwrap();
    let kids = ber::children(t.value).unwrap();
    let tags: Vec<u32> = kids.iter().map(|k| k.tag).collect();
    assert_eq!(
        tags,
        [
            0xDF21, 0xDF22, 0xDF23, 0xDF24, 0xDF25, 0xDF26, 0xDF27, 0xDF28, 0xDF29, 0xDF2A
        ]
    );
    assert!(kids[6].value.starts_with(b"\x89PNG"));
    r.sw("00A4040C0AD3921000310001010402");
    r.sw("00A4020C020013");
    assert_eq!(
        r.sw("002000800C 313233343536373839303137"),
        0x63C9,
        "wrong My Number"
    );
}

#[test]
fn card_file_round_trips_and_hides_keys_in_debug() {
    let f = fixture();
    let bytes = f.card.to_bytes().unwrap();
    let back = CardState::from_bytes(&bytes).unwrap();
    assert_eq!(back, f.card);
    let dbg = format!("{:?}", f.card.keys);
    assert!(dbg.contains("not exportable"), "{dbg}");
    let mut bad = back.clone();
    bad.format = 99;
    assert!(CardState::from_bytes(&bad.to_bytes().unwrap()).is_err());
    assert!(CardState::from_bytes(b"{").is_err());
}

#[test]
fn personalisation_refuses_bad_input() {
    let BlankCard { mut state, .. } = blank_card("AB12345678901", vec![1; 16], false).unwrap();
    let pins = |sign| ChosenPins {
        auth: "1234",
        sign,
        assist: "1234",
        juki: "1234",
    };
    assert!(
        set_pins(&mut state, &pins(Some("ABC123"))).is_err(),
        "no signing key"
    );
    assert!(set_pins(&mut state, &pins(None)).is_ok());
    let BlankCard { mut state, .. } = blank_card("AB12345678901", vec![1; 16], true).unwrap();
    assert!(set_pins(&mut state, &pins(None)).is_err());
    let e = set_pins(&mut state, &pins(Some("abcdef"))).unwrap_err();
    assert!(
        e.to_string().contains("letter and at least one digit"),
        "{e}"
    );
    assert!(state.pins.is_empty(), "nothing set when one PIN is refused");
    assert!(blank_card("short", vec![1; 16], true).is_err());
    assert!(blank_card("AB12345678901", vec![1; 4], true).is_err());
}

/// No input makes the engine panic: random bytes, and mutations of valid commands in every
/// state (selected applets, verified PINs).
#[test]
fn random_apdus_never_panic() {
    let mut f = fixture();
    let mut rng = ChaCha20Rng::seed_from_u64(0x6d79_6e61);
    let seeds: Vec<Vec<u8>> = [
        JPKI,
        ASSIST,
        "00A4040C0AD3921000310001010402",
        "00A4040C0AD3921000310001010100",
        "00A4020C02000A",
        "00A4020C020018",
        "00A4020C020017",
        "0020008004 31323334",
        "00B0000004",
        "00B00000000000",
        "00B08A0004",
        "802A008033 3031300D060960864801650304020105000420 00000000000000000000000000000000 0000000000000000000000000000000000",
        "0024018004 31323334",
        "00B2010C00",
        "00CA004500",
        "00CA7F2100",
        "0084000010",
        "00A4040C07A0000001510000",
        "00A4020C020011",
        "00A4020C020013",
        "802A000033 3031300D060960864801650304020105000420 00000000000000000000000000000000 0000000000000000000000000000000000",
        "802A050020 0101010101010101010101010101010101010101010101010101010101010101 00",
        "0020008006 353530323137",
    ]
    .iter()
    .map(|h| hex(h))
    .collect();
    let mut s = Session::default();
    for i in 0..60_000 {
        let apdu: Vec<u8> = if i % 3 == 0 {
            let n = rng.random_range(0..300usize);
            (0..n).map(|_| rng.random::<u8>()).collect()
        } else {
            let mut a = seeds[rng.random_range(0..seeds.len())].clone();
            for _ in 0..rng.random_range(0..4) {
                let k = rng.random_range(0..a.len());
                match rng.random_range(0..3) {
                    0 => a[k] = rng.random(),
                    1 => a.truncate(k.max(1)),
                    _ => a.push(rng.random()),
                }
            }
            a
        };
        let o = process(&mut f.card, &mut s, &apdu);
        let sw = o.response.sw.0;
        assert!(sw == 0x9000 || sw >> 8 >= 0x63, "{sw:04X} for {apdu:02X?}");
        // Keep PINs usable so the run also covers the verified states.
        if i % 500 == 0 {
            for p in crate::PinId::ALL {
                if p != crate::PinId::AssistSpare {
                    f.card.reset_pin(p, None).unwrap();
                }
            }
        }
    }
}

#[test]
fn the_signing_certificate_stays_readable_after_signing() {
    let mut f = fixture();
    let mut apdu = hex("802A0080");
    apdu.push(51);
    apdu.extend(sha256_digest_info(&[7; 32]));
    apdu.push(0);
    let mut r = run(&mut f.card);
    r.sw(JPKI);
    r.sw("00A4020C02001B");
    assert_eq!(r.sw("0020008006 414243313233"), 0x9000);
    r.sw("00A4020C02001A");
    assert_eq!(r.tx(&apdu).1, 0x9000);
    r.sw("00A4020C020001");
    assert_eq!(r.sw("00B0000007"), 0x9000);
}

#[test]
fn the_juki_pin_is_the_fourth_pin() {
    let mut f = fixture();
    let mut r = run(&mut f.card);
    assert_eq!(r.sw("00A4040C0AD3921000310001010401"), 0x9000);
    assert_eq!(r.sw("00A4020C02001C"), 0x9000);
    assert_eq!(r.sw("00200080"), 0x63C3);
    assert_eq!(r.sw("0020008004 30303030"), 0x63C2);
    assert_eq!(r.sw("0020008004 35363738"), 0x9000);
    assert_eq!(r.sw("0020009C"), 0x63C3, "SFI form");
}

/// A card file of format 1 (照合番号B with the Gregorian year) opens, upgraded: the new
/// 照合番号B opens it with the try counter kept, the 券面AP gets its birth-date key, the old
/// EF 0001 of the 券面AP (the My Number) is gone, and nothing else changed.
#[test]
fn a_format_1_card_file_is_upgraded_without_loss() {
    use crate::pin::{PinId, PinState};
    let f = fixture();
    let mut old = f.card.clone();
    old.format = 1;
    let salt = old.salt.0.clone();
    for id in [PinId::AssistB, PinId::FaceB] {
        // Format 1: birth 1990-01-15 as 900115.
        let mut p = PinState::new(id, &salt, b"90011520354321");
        p.tries_left = 7;
        old.pins.insert(id, p);
    }
    old.pins.remove(&PinId::FaceBirth);
    old.set_file(
        crate::AppletId::Face,
        crate::layout::fid::FACE_BIRTH,
        hex("DF100C313233343536373839303138"),
    );
    // Format 1 kept the security code as text in DF2A.
    old.set_file(
        crate::AppletId::Face,
        crate::layout::fid::FACE_ENTRIES,
        hex("FF2007 DF2A04 34333231"),
    );
    let bytes = old.to_bytes().unwrap();
    let mut up = CardState::from_bytes(&bytes).unwrap();
    assert_eq!(up.format, crate::state::FORMAT);
    assert_eq!(up.pins[&PinId::AssistB].tries_left, 7, "counter kept");
    assert_eq!(up.keys, old.keys);
    assert_eq!(up.pins[&PinId::Auth], old.pins[&PinId::Auth]);
    assert!(
        up.file(crate::AppletId::Face, crate::layout::fid::FACE_BIRTH)
            .is_none()
    );
    let mut r = run(&mut up);
    r.sw(ASSIST);
    r.sw("00A4020C020015");
    assert_eq!(
        r.sw("002000800E 3930303131353230333534333231"),
        0x63C6,
        "Gregorian refused"
    );
    assert_eq!(
        r.sw("002000800E 3032303131353230333534333231"),
        0x9000,
        "era"
    );
    r.sw("00A4040C0AD3921000310001010402");
    r.sw("00A4020C020011");
    assert_eq!(
        r.sw("0020008006 303230313135"),
        0x9000,
        "birth-date key 020115"
    );
    // A format from the future is refused with its number.
    let mut future = f.card.clone();
    future.format = 99;
    let err = CardState::from_bytes(&future.to_bytes().unwrap()).unwrap_err();
    assert!(err.to_string().contains("format 99"), "{err}");
}

/// The 入力補助AP publishes its own key in EF 0007, certified by the card-data key, and
/// that key answers a challenge without a PIN.
#[test]
fn the_assist_ap_key_is_certified_and_signs_without_a_pin() {
    let mut f = fixture();
    let signer_pub = f.signer.public_key_der();
    let mut r = run(&mut f.card);
    r.sw(ASSIST);
    r.sw("00A4020C020007");
    assert_eq!(
        r.sw("00B0000000"),
        0x6982,
        "EF 0007 needs the PIN or a 照合番号"
    );
    r.sw("00A4020C020014");
    assert_eq!(
        r.sw("002000800C 313233343536373839303138"),
        0x9000,
        "照合番号A"
    );
    r.sw("00A4020C020002");
    assert_eq!(r.sw("00B0000000"), 0x6982, "A does not open the basic four");
    r.sw("00A4020C020007");
    let (ef, sw, _) = r.tx(&hex("00B00000000000"));
    assert_eq!(sw, 0x9000);
    assert_eq!(ef[..5], [0xFF, 0x50, 0x82, 0x02, 0x13]);
    let (outer, _) = ber::parse(&ef).unwrap();
    let kids = ber::children(outer.value).unwrap();
    assert_eq!((kids[0].tag, kids[1].tag), (0xDF51, 0xDF52));
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &signer_pub)
        .verify(kids[0].raw, kids[1].value)
        .unwrap();
    // The JPKI AP has no PIN-less key.
    r.sw(JPKI);
    assert_eq!(
        r.sw("802A000033 3031300D060960864801650304020105000420 00000000000000000000000000000000 0000000000000000000000000000000000"),
        0x6A86
    );
}
