-- conn-tools.lua - a Wireshark dissector for Python's
-- multiprocessing.connection wire protocol, from conn-tools.
--
-- Each frame: its length (a 4-byte big-endian signed length, or -1 and
-- an 8-byte length for messages over 2 GiB), the handshake's messages
-- labelled as conn-pipe --in pcap labels them (challenge and its digest
-- name, digest, welcome, failure), and for a pickle its protocol and
-- first opcodes.  Frames that span TCP segments are reassembled.
--
-- Use: wireshark -X lua_script:conn-tools.lua, or copy it to
-- ~/.local/lib/wireshark/plugins/.  The TCP port is a preference
-- (conn.port, default 0: none; tshark -o conn.port:5000); a heuristic
-- also takes a conversation whose first segment starts with a frame that
-- holds a #CHALLENGE#, or a whole pickle.
--
-- Fields: conn.kind ("challenge", "digest", "welcome", "failure" or
-- "message", one per frame), conn.length, conn.payload, conn.challenge.
-- digest, conn.pickle.protocol, conn.pickle.opcodes.

local conn = Proto("conn", "Python multiprocessing.connection")

local f = {
	kind = ProtoField.string("conn.kind", "Kind"),
	length = ProtoField.uint64("conn.length", "Length"),
	long = ProtoField.bool("conn.long_header", "Long header (-1, then 8 bytes)"),
	payload = ProtoField.bytes("conn.payload", "Payload", base.NONE),
	digest = ProtoField.string("conn.challenge.digest", "Challenge digest"),
	protocol = ProtoField.uint8("conn.pickle.protocol", "Pickle protocol"),
	opcodes = ProtoField.string("conn.pickle.opcodes", "First pickle opcodes"),
}
conn.fields = { f.kind, f.length, f.long, f.payload, f.digest, f.protocol,
	f.opcodes }

conn.prefs.port = Pref.uint("TCP port", 0, "Decode this TCP port as "
	.. "multiprocessing.connection (0: none; the heuristic still applies)")

local PLAUSIBLE_MAX = 16 * 1024 * 1024	-- a first frame's length, at most
local OPCODES_SHOWN = 5

-- The pickle opcodes (pickletools' names) and the bytes of their
-- argument: a count, or how the argument's length is given ("1", "4",
-- "8": a little-endian length of that many bytes; "nl": one line; "nl2":
-- two).
local opcodes = {
	[0x80] = { "PROTO", 1 }, [0x95] = { "FRAME", 8 },
	[0x28] = { "MARK", 0 }, [0x2e] = { "STOP", 0 }, [0x30] = { "POP", 0 },
	[0x31] = { "POP_MARK", 0 }, [0x32] = { "DUP", 0 },
	[0x46] = { "FLOAT", "nl" }, [0x49] = { "INT", "nl" },
	[0x4a] = { "BININT", 4 }, [0x4b] = { "BININT1", 1 },
	[0x4c] = { "LONG", "nl" }, [0x4d] = { "BININT2", 2 },
	[0x4e] = { "NONE", 0 }, [0x50] = { "PERSID", "nl" },
	[0x51] = { "BINPERSID", 0 }, [0x52] = { "REDUCE", 0 },
	[0x53] = { "STRING", "nl" }, [0x54] = { "BINSTRING", "4" },
	[0x55] = { "SHORT_BINSTRING", "1" }, [0x56] = { "UNICODE", "nl" },
	[0x58] = { "BINUNICODE", "4" }, [0x61] = { "APPEND", 0 },
	[0x62] = { "BUILD", 0 }, [0x63] = { "GLOBAL", "nl2" },
	[0x64] = { "DICT", 0 }, [0x7d] = { "EMPTY_DICT", 0 },
	[0x65] = { "APPENDS", 0 }, [0x67] = { "GET", "nl" },
	[0x68] = { "BINGET", 1 }, [0x69] = { "INST", "nl2" },
	[0x6a] = { "LONG_BINGET", 4 }, [0x6c] = { "LIST", 0 },
	[0x5d] = { "EMPTY_LIST", 0 }, [0x6f] = { "OBJ", 0 },
	[0x70] = { "PUT", "nl" }, [0x71] = { "BINPUT", 1 },
	[0x72] = { "LONG_BINPUT", 4 }, [0x73] = { "SETITEM", 0 },
	[0x74] = { "TUPLE", 0 }, [0x29] = { "EMPTY_TUPLE", 0 },
	[0x75] = { "SETITEMS", 0 }, [0x47] = { "BINFLOAT", 8 },
	[0x81] = { "NEWOBJ", 0 }, [0x82] = { "EXT1", 1 }, [0x83] = { "EXT2", 2 },
	[0x84] = { "EXT4", 4 }, [0x85] = { "TUPLE1", 0 }, [0x86] = { "TUPLE2", 0 },
	[0x87] = { "TUPLE3", 0 }, [0x88] = { "NEWTRUE", 0 },
	[0x89] = { "NEWFALSE", 0 }, [0x8a] = { "LONG1", "1" },
	[0x8b] = { "LONG4", "4" }, [0x42] = { "BINBYTES", "4" },
	[0x43] = { "SHORT_BINBYTES", "1" }, [0x8c] = { "SHORT_BINUNICODE", "1" },
	[0x8d] = { "BINUNICODE8", "8" }, [0x8e] = { "BINBYTES8", "8" },
	[0x8f] = { "EMPTY_SET", 0 }, [0x90] = { "ADDITEMS", 0 },
	[0x91] = { "FROZENSET", 0 }, [0x92] = { "NEWOBJ_EX", 0 },
	[0x93] = { "STACK_GLOBAL", 0 }, [0x94] = { "MEMOIZE", 0 },
	[0x96] = { "BYTEARRAY8", "8" }, [0x97] = { "NEXT_BUFFER", 0 },
	[0x98] = { "READONLY_BUFFER", 0 },
}

-- A little-endian length of n bytes at offset o of tvb.
local function le_length(tvb, o, n)
	if n == 8 then
		return tvb(o, 8):le_uint64():tonumber()
	end
	return tvb(o, n):le_uint()
end

-- The end of a line starting at o, after its newline; nil if none.
local function line_end(tvb, o)
	for i = o, tvb:len() - 1 do
		if tvb(i, 1):uint() == 0x0a then
			return i + 1
		end
	end
	return nil
end

-- The names of the first OPCODES_SHOWN opcodes of the pickle in tvb,
-- space-separated; a name of its own where the walk cannot go on.
local function first_opcodes(tvb)
	local names, o = {}, 0
	while #names < OPCODES_SHOWN and o < tvb:len() do
		local op = opcodes[tvb(o, 1):uint()]
		if op == nil then
			names[#names + 1] = "(unknown opcode)"
			break
		end
		names[#names + 1] = op[1]
		o = o + 1
		local arg = op[2]
		if type(arg) == "number" then
			o = o + arg
		elseif arg == "nl" or arg == "nl2" then
			o = line_end(tvb, o)
			if o and arg == "nl2" then
				o = line_end(tvb, o)
			end
		else
			local n = tonumber(arg)
			if o + n > tvb:len() then
				o = nil
			else
				o = o + n + le_length(tvb, o, n)
			end
		end
		if o == nil or op[1] == "STOP" then
			break
		end
	end
	return table.concat(names, " ")
end

-- ------------------------------------------------------------ handshake

-- Per conversation and direction: whether the handshake is behind, and
-- whether a challenge from the other side awaits its digest.  Labels are
-- decided on the first pass and kept by frame, for the passes after.
local halves = {}
local labels = {}

local function endpoint(addr, port)
	return tostring(addr) .. "/" .. tostring(port)
end

local function half_of(pinfo, forward)
	local a = endpoint(pinfo.src, pinfo.src_port)
	local b = endpoint(pinfo.dst, pinfo.dst_port)
	local key = forward and (a .. ">" .. b) or (b .. ">" .. a)
	if halves[key] == nil then
		halves[key] = { past = false, expect_digest = false }
	end
	return halves[key]
end

local function starts(tvb, text)
	return tvb:len() >= #text and tvb(0, #text):string() == text
end

-- The label of the message in tvb from this packet's sender, as
-- conn-pipe --in pcap gives it: "message" past the handshake.
local function handshake_label(tvb, pinfo)
	local h, other = half_of(pinfo, true), half_of(pinfo, false)
	local label = nil
	if h.past then
		return "message"
	end
	if starts(tvb, "#CHALLENGE#") then
		label = "challenge"
		other.expect_digest = true
	elseif tvb:len() == 9 and starts(tvb, "#WELCOME#") then
		label = "welcome"
	elseif tvb:len() == 9 and starts(tvb, "#FAILURE#") then
		label = "failure"
	elseif h.expect_digest then
		label = "digest"
	end
	h.expect_digest = false
	if label == nil then
		h.past = true
		label = "message"
	end
	return label
end

-- "sha256" of a modern challenge's "{sha256}", "md5 (legacy)" without.
local function challenge_digest(tvb)
	local rest = tvb:len() > 11 and tvb(11):string() or ""
	local name = rest:match("^{([%w_]+)}")
	return name or "md5 (legacy)"
end

-- ---------------------------------------------------------------- frames

-- The frame at offset of tvb: its header's size and payload length;
-- nil, nil for a header that is no frame; nil, needed when more bytes
-- are needed.
local function frame_header(tvb, offset)
	local avail = tvb:len() - offset
	if avail < 4 then
		return nil, 4 - avail
	end
	local n = tvb(offset, 4):int()
	if n >= 0 then
		return 4, n
	end
	if n ~= -1 then
		return nil, nil
	end
	if avail < 12 then
		return nil, 12 - avail
	end
	return 12, tvb(offset + 4, 8):uint64():tonumber()
end

local function show_frame(tvb, pinfo, tree, header, length)
	local payload = tvb(header, length)
	local key = pinfo.number .. ":" .. tvb:offset()
	if not pinfo.visited then
		labels[key] = handshake_label(payload:tvb(), pinfo)
	end
	local kind = labels[key] or "message"
	local t = tree:add(conn, tvb(0, header + length))
	t:add(f.kind, kind):set_generated()
	if header == 12 then
		t:add(f.long, tvb(0, 4), true)
		t:add(f.length, tvb(4, 8))
	else
		t:add(f.length, tvb(0, 4), UInt64(length))
	end
	if length > 0 then
		t:add(f.payload, payload)
	else
		t:add(f.payload, tvb(0, 0))
	end
	if kind == "challenge" then
		t:add(f.digest, challenge_digest(payload:tvb())):set_generated()
	elseif kind == "message" and length >= 2 and payload(0, 1):uint() == 0x80 then
		t:add(f.protocol, payload(1, 1))
		t:add(f.opcodes, first_opcodes(payload:tvb())):set_generated()
	end
	t:append_text(", " .. kind .. ", " .. length .. " bytes")
	return kind
end

function conn.dissector(tvb, pinfo, tree)
	local offset, kinds = 0, {}
	while offset < tvb:len() do
		local header, length = frame_header(tvb, offset)
		if header == nil and length == nil then
			return offset	-- not a frame: not ours from here
		end
		if header == nil or tvb:len() - offset < header + length then
			pinfo.desegment_offset = offset
			pinfo.desegment_len = header == nil and length
				or header + length - (tvb:len() - offset)
			return tvb:len()
		end
		kinds[#kinds + 1] = show_frame(tvb(offset, header + length):tvb(),
			pinfo, tree, header, length)
		offset = offset + header + length
	end
	pinfo.cols.protocol = "conn"
	pinfo.cols.info = table.concat(kinds, ", ")
	return offset
end

-- A conversation that starts with a challenge, or with a whole pickle,
-- is this protocol's.
local function heuristic(tvb, pinfo, tree)
	if tvb:len() < 6 then
		return false
	end
	local n = tvb(0, 4):int()
	if n < 1 or n > PLAUSIBLE_MAX then
		return false
	end
	local challenge = n >= 11 and tvb:len() >= 15 and
		tvb(4, 11):string() == "#CHALLENGE#"
	local pickle = tvb:len() == n + 4 and tvb(4, 1):uint() == 0x80 and
		tvb(n + 3, 1):uint() == 0x2e
	if not (challenge or pickle) then
		return false
	end
	pinfo.conversation = conn
	conn.dissector(tvb, pinfo, tree)
	return true
end

local registered = 0

function conn.prefs_changed()
	local tcp = DissectorTable.get("tcp.port")
	if registered ~= 0 then
		tcp:remove(registered, conn)
	end
	registered = conn.prefs.port
	if registered ~= 0 then
		tcp:add(registered, conn)
	end
end

function conn.init()
	halves = {}
	labels = {}
end

conn:register_heuristic("tcp", heuristic)
