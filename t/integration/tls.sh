# t/integration/tls.sh: test certificates for the TLS scripts (84-88), made
# with the openssl command line in the script's private directory. Source it
# after lib.sh.
# shellcheck shell=bash

# le_tls_make_ca DIR: a self-signed test CA, DIR/ca.pem and DIR/ca.key.
le_tls_make_ca() {
    local d=$1
    mkdir -p "$d"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
        -subj "/CN=livedge test CA/O=livedge tests" -keyout "$d/ca.key" -out "$d/ca.pem" \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
        >/dev/null 2>&1
}

# le_tls_make_cert DIR NAME CN [SAN...]: DIR/NAME.pem (leaf then the CA) and
# DIR/NAME.key signed by DIR's CA, for the DNS names given (CN and every SAN;
# an IP literal becomes an IP SAN). KEYTYPE=rsa for an RSA 2048 key.
le_tls_make_cert() {
    local d=$1 n=$2 cn=$3 san="" s
    shift 3
    for s in "$cn" "$@"; do
        if [[ $s =~ ^[0-9.]+$ ]]; then san="$san,IP:$s"; else san="$san,DNS:$s"; fi
    done
    san=${san#,}
    if [ "${KEYTYPE:-ec}" = rsa ]; then
        openssl genrsa -out "$d/$n.key" 2048 >/dev/null 2>&1
    else
        openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$d/$n.key" >/dev/null 2>&1
    fi
    openssl req -new -key "$d/$n.key" -subj "/CN=$cn" -out "$d/$n.csr" >/dev/null 2>&1
    printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' "$san" >"$d/$n.ext"
    openssl x509 -req -in "$d/$n.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial -days 30 \
        -extfile "$d/$n.ext" -out "$d/$n.leaf.pem" >/dev/null 2>&1 &&
        cat "$d/$n.leaf.pem" "$d/ca.pem" >"$d/$n.pem"
}

# le_tls_subject HOST:PORT SNI: the CN of the certificate served for SNI
# ("" when the handshake fails).
le_tls_subject() {
    openssl s_client -connect "$1" -servername "$2" </dev/null 2>/dev/null |
        openssl x509 -noout -subject -nameopt multiline 2>/dev/null |
        sed -n 's/^ *commonName *= *//p'
}
