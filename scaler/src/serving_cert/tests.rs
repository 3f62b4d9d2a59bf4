use super::*;

fn info(subject: &str, issuer: &str, not_before: i64, not_after: i64) -> CertInfo {
    CertInfo {
        subject: subject.into(),
        issuer: issuer.into(),
        not_before,
        not_after,
        dns_names: vec!["svc".into(), "svc.ns".into()],
    }
}

fn names() -> Vec<String> {
    vec!["svc".into(), "svc.ns".into()]
}

/// What the Secret holds, whether the bundle is published, now, and the decision wanted.
type Case = (
    &'static str,
    Option<Result<Material, String>>,
    bool,
    i64,
    Action,
);

#[test]
fn decisions() {
    let ca = info("CN=ca@0", "CN=ca@0", 0, 3000);
    let old_ca = info("CN=ca@-9", "CN=ca@-9", -9, 2000);
    let cert = info("CN=svc", "CN=ca@0", 0, 300);
    let m = |cas: Vec<CertInfo>, cert: CertInfo| Ok(Material { cas, cert });
    let cases: Vec<Case> = vec![
        (
            "no Secret",
            None,
            false,
            10,
            Action::Fresh("no serving certificate Secret yet".into()),
        ),
        (
            "unusable",
            Some(Err("tls.crt is missing".into())),
            true,
            10,
            Action::Fresh("the Secret is unusable: tls.crt is missing".into()),
        ),
        (
            "all fresh",
            Some(m(vec![ca.clone()], cert.clone())),
            true,
            10,
            Action::Keep,
        ),
        (
            "fresh even when the bundle is not published",
            Some(m(vec![ca.clone()], cert.clone())),
            false,
            10,
            Action::Keep,
        ),
        (
            "cert at two thirds of its life",
            Some(m(vec![ca.clone()], cert.clone())),
            true,
            200,
            Action::NewCert("the serving certificate expires at 300".into()),
        ),
        (
            "cert just before two thirds",
            Some(m(vec![ca.clone()], cert.clone())),
            true,
            199,
            Action::Keep,
        ),
        (
            "CA at two thirds of its life",
            Some(m(vec![ca.clone()], cert.clone())),
            true,
            2000,
            Action::NewCa("the CA expires at 3000".into()),
        ),
        (
            "CA expired",
            Some(m(vec![ca.clone()], cert.clone())),
            true,
            3000,
            Action::Fresh("the CA has expired".into()),
        ),
        (
            "cert from the previous CA, bundle not yet published",
            Some(m(
                vec![ca.clone(), old_ca.clone()],
                info("CN=svc", "CN=ca@-9", 0, 300),
            )),
            false,
            10,
            Action::Keep,
        ),
        (
            "cert from the previous CA, bundle published",
            Some(m(
                vec![ca.clone(), old_ca],
                info("CN=svc", "CN=ca@-9", 0, 300),
            )),
            true,
            10,
            Action::NewCert("the serving certificate is signed by the previous CA".into()),
        ),
        (
            "a name missing",
            Some(m(
                vec![ca],
                CertInfo {
                    dns_names: vec!["svc".into()],
                    ..cert
                },
            )),
            true,
            10,
            Action::NewCert("the serving certificate does not name svc.ns".into()),
        ),
    ];
    for (what, current, published, now, want) in cases {
        assert_eq!(
            decide(current.as_ref(), published, &names(), now),
            want,
            "{what}"
        );
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[test]
fn fresh_then_ca_rollover_in_two_steps() {
    let policy = Policy {
        cert_validity: Duration::from_secs(600),
        ca_validity: Duration::from_secs(3600),
    };
    let names = service_names("prescale-metrics-apiserver", "prescale");
    let t0 = now();
    let fresh = apply(
        &Action::Fresh("x".into()),
        &BTreeMap::new(),
        &names,
        &policy,
        t0,
    )
    .unwrap();
    let m = inspect(&fresh).unwrap();
    assert_eq!(m.cas.len(), 1);
    assert_eq!(m.cert.issuer, m.cas[0].subject);
    assert_eq!(m.cert.dns_names, names);
    assert_eq!(m.cert.not_after, t0 + 600);
    assert_eq!(
        decide(Some(&Ok(m.clone())), true, &names, t0 + 1),
        Action::Keep
    );

    // the CA is replaced first in the bundle only
    let t1 = t0 + 2500;
    let action = decide(Some(&Ok(m.clone())), true, &names, t1);
    assert!(matches!(action, Action::NewCa(_)), "{action:?}");
    let rolled = apply(&action, &fresh, &names, &policy, t1).unwrap();
    let m1 = inspect(&rolled).unwrap();
    assert_eq!(m1.cas.len(), 2);
    assert_eq!(m1.cas[1], m.cas[0]);
    assert_eq!(m1.cert, m.cert);
    assert_eq!(rolled[TLS_KEY], fresh[TLS_KEY]);
    // until the APIService carries the new bundle, the serving certificate stays
    assert_eq!(
        decide(Some(&Ok(m1.clone())), false, &names, t1),
        Action::Keep
    );
    let action = decide(Some(&Ok(m1.clone())), true, &names, t1);
    let reissued = apply(&action, &rolled, &names, &policy, t1).unwrap();
    let m2 = inspect(&reissued).unwrap();
    assert_eq!(m2.cert.issuer, m1.cas[0].subject);
    assert_eq!(m2.cas.len(), 2, "the old CA stays while it is valid");
    assert_eq!(decide(Some(&Ok(m2)), true, &names, t1), Action::Keep);

    // an expired CA leaves the bundle at the next write
    let t2 = t0 + 3700;
    let later = apply(&Action::NewCert("x".into()), &reissued, &names, &policy, t2).unwrap();
    assert_eq!(inspect(&later).unwrap().cas.len(), 1);
}

#[test]
fn broken_material_is_named_without_contents() {
    let mut data = apply(
        &Action::Fresh("x".into()),
        &BTreeMap::new(),
        &names(),
        &Policy::default(),
        now(),
    )
    .unwrap();
    data.insert(TLS_KEY.into(), "SECRET-MARKER not a key".into());
    let err = inspect(&data).unwrap_err();
    assert_eq!(err, "tls.key is not a private key");
    data.remove(CA_CRT);
    data.insert(TLS_KEY.into(), data[CA_KEY].clone());
    assert_eq!(inspect(&data).unwrap_err(), "ca.crt is missing");
}
