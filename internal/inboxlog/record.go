package inboxlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// A segment file starts with a header: the magic and the format version.
const (
	magic      = "TICKSINB"
	version    = 1
	headerSize = 16
)

// A record is a 24-byte head and the body:
//
//	0  u32  body length
//	4  u32  CRC-32C of bytes 8 to the end of the body
//	8  u64  id
//	16 i64  received at, unix milliseconds
//	24      body
//
// Little-endian. The checksum covers the id and the time too, so a torn or
// stale write is never read as a record.
const (
	recordHead = 24
	// maxBody bounds a record's announced length, so a damaged head is not
	// taken for a huge record. Webhook bodies are refused far below it.
	maxBody = 256 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func fileHeader() []byte {
	h := make([]byte, headerSize)
	copy(h, magic)
	binary.LittleEndian.PutUint32(h[8:], version)
	return h
}

func checkHeader(h []byte) error {
	if len(h) < headerSize || string(h[:8]) != magic {
		return errors.New("not an inbox segment")
	}
	if v := binary.LittleEndian.Uint32(h[8:]); v != version {
		return fmt.Errorf("inbox segment version %d, want %d", v, version)
	}
	return nil
}

// appendRecord appends the encoding of one record to buf.
func appendRecord(buf []byte, id, receivedMS int64, body []byte) []byte {
	start := len(buf)
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(body)))
	buf = binary.LittleEndian.AppendUint32(buf, 0) // the checksum, below
	buf = binary.LittleEndian.AppendUint64(buf, uint64(id))
	buf = binary.LittleEndian.AppendUint64(buf, uint64(receivedMS))
	buf = append(buf, body...)
	sum := crc32.Checksum(buf[start+8:], castagnoli)
	binary.LittleEndian.PutUint32(buf[start+4:], sum)
	return buf
}

// errEnd means there is no further valid record: the end of what was
// written, or a torn or damaged record.
var errEnd = errors.New("end of records")

// recordReader reads records from a segment, checking each one.
type recordReader struct {
	r    io.Reader
	off  int64 // offset of the next record
	head [recordHead]byte
}

// next reads the next record, into body's space when it is large enough
// (nil for a body of its own), and returns it. At a clean end, a torn
// record or a damaged one it returns errEnd, leaving off at the start of
// that record; other errors are the file's.
func (rr *recordReader) next(body []byte) (id, receivedMS int64, out []byte, err error) {
	if _, err := io.ReadFull(rr.r, rr.head[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return 0, 0, nil, errEnd
		}
		return 0, 0, nil, err
	}
	n := binary.LittleEndian.Uint32(rr.head[0:])
	if n > maxBody {
		return 0, 0, nil, errEnd
	}
	if cap(body) < int(n) {
		body = make([]byte, n)
	}
	body = body[:n]
	if _, err := io.ReadFull(rr.r, body); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return 0, 0, nil, errEnd
		}
		return 0, 0, nil, err
	}
	sum := crc32.Update(crc32.Checksum(rr.head[8:], castagnoli), castagnoli, body)
	if sum != binary.LittleEndian.Uint32(rr.head[4:]) {
		return 0, 0, nil, errEnd
	}
	id = int64(binary.LittleEndian.Uint64(rr.head[8:]))
	receivedMS = int64(binary.LittleEndian.Uint64(rr.head[16:]))
	rr.off += recordHead + int64(n)
	return id, receivedMS, body, nil
}
