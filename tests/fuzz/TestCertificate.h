#pragma once

// The fuzz targets' and the seed generator's test certificate.

namespace opampsup::fuzz {

// A self-signed test certificate and its key (EC P-256, CN=opamp.example.com), fixed so the
// seeds do not change from run to run. Not a secret: nothing trusts it.
constexpr const char* kCertPem = R"(-----BEGIN CERTIFICATE-----
MIIB7DCCAZGgAwIBAgIUWWeOk5Q5tYF2va07Ui4ZGq7j5ZwwCgYIKoZIzj0EAwIw
OzEdMBsGA1UECgwUb3BhbXBzdXBlcnZpc29yIGZ1enoxGjAYBgNVBAMMEW9wYW1w
LmV4YW1wbGUuY29tMCAXDTI2MTIwMTA5NDQxMVoYDzIxMjYxMTA3MDk0NDExWjA7
MR0wGwYDVQQKDBRvcGFtcHN1cGVydmlzb3IgZnV6ejEaMBgGA1UEAwwRb3BhbXAu
ZXhhbXBsZS5jb20wWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAATTBmCJixq0Ac/U
Gec1Hwmjm0y8U9Bj/RX//ZERz1IY6v69pXZeMzumSZ1gAGYQpRcmuY0ojSBrvPNj
dPxDikAro3EwbzAdBgNVHQ4EFgQUYfJuveHDrjkmPNXrDIw8IOY6SeYwHwYDVR0j
BBgwFoAUYfJuveHDrjkmPNXrDIw8IOY6SeYwDwYDVR0TAQH/BAUwAwEB/zAcBgNV
HREEFTATghFvcGFtcC5leGFtcGxlLmNvbTAKBggqhkjOPQQDAgNJADBGAiEA9Uxf
JyS+Qn8Vwme4HOWbnKjQwSYjbmZvWEIEZv6k6tYCIQDBGyR3oYOid4uchlxhTyFw
xpTZQZJzjEDM0NO/kQtPGw==
-----END CERTIFICATE-----
)";
constexpr const char* kKeyPem = R"(-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgpWgHhQynBE3MRcay
vcOoD2gkWTDg6O0ncVCY0FnBSYyhRANCAATTBmCJixq0Ac/UGec1Hwmjm0y8U9Bj
/RX//ZERz1IY6v69pXZeMzumSZ1gAGYQpRcmuY0ojSBrvPNjdPxDikAr
-----END PRIVATE KEY-----
)";

}  // namespace opampsup::fuzz
