# pki.bash - certificates for tls.bats, made at test time with certtool
# (gnutls-bin) in $1: a CA, a server certificate for localhost and
# 127.0.0.1, one that expired, one for another name, one signed by
# another CA, and a client certificate.  Sourced; pki_make DIR.

# pki_template FILE CN [extra lines]
pki_template() {
	local file=$1 cn=$2
	shift 2
	{
		echo "cn = \"$cn\""
		echo "serial = $RANDOM$RANDOM"
		for line in "$@"; do echo "$line"; done
	} > "$file"
}

# pki_cert DIR NAME CA VALIDITY [template lines]: NAME.key, NAME.pem
# signed by CA (DIR/CA.pem, DIR/CA.key); VALIDITY a template line.
pki_cert() {
	local dir=$1 name=$2 ca=$3 validity=$4
	shift 4
	certtool --generate-privkey --key-type=ecdsa --outfile "$dir/$name.key" \
		2>/dev/null
	pki_template "$dir/$name.tmpl" "$name" "$validity" "$@"
	certtool --generate-certificate --load-privkey "$dir/$name.key" \
		--load-ca-certificate "$dir/$ca.pem" \
		--load-ca-privkey "$dir/$ca.key" \
		--template "$dir/$name.tmpl" --outfile "$dir/$name.pem" \
		>/dev/null 2>&1
}

pki_ca() {
	local dir=$1 name=$2
	certtool --generate-privkey --key-type=ecdsa --outfile "$dir/$name.key" \
		2>/dev/null
	pki_template "$dir/$name.tmpl" "$name" "ca" "cert_signing_key" \
		"expiration_days = 30"
	certtool --generate-self-signed --load-privkey "$dir/$name.key" \
		--template "$dir/$name.tmpl" --outfile "$dir/$name.pem" \
		>/dev/null 2>&1
}

pki_make() {
	local dir=$1
	mkdir -p "$dir"
	[ -s "$dir/client.pem" ] && return 0
	pki_ca "$dir" ca
	pki_ca "$dir" other-ca
	pki_cert "$dir" server ca "expiration_days = 30" "dns_name = localhost" \
		"ip_address = 127.0.0.1" "tls_www_server" "signing_key"
	pki_cert "$dir" wrong-name ca "expiration_days = 30" "dns_name = elsewhere.example" \
		"tls_www_server" "signing_key"
	pki_cert "$dir" stranger other-ca "expiration_days = 30" "dns_name = localhost" \
		"ip_address = 127.0.0.1" "tls_www_server" "signing_key"
	pki_cert "$dir" expired ca \
		'expiration_date = "2020-02-01 00:00:00"' \
		'activation_date = "2020-01-01 00:00:00"' "dns_name = localhost" \
		"ip_address = 127.0.0.1" "tls_www_server" "signing_key"
	pki_cert "$dir" client ca "expiration_days = 30" "tls_www_client" "signing_key"
}
