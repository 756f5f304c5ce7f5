"""Why the box cannot reach the hub, as a stable kind with plain words in both languages.

The sync transport knows which failure it met (a refused connection, a name that does not
resolve, a certificate the hub rejects…); it names the kind, the daemon stores it, and the
clerk's screen and ``gateway status`` say it in words a clerk can act on or pass to the
province's IT staff. Pure: no I/O.
"""

from __future__ import annotations

from gateway.model.errors import Problem

REASONS: dict[str, Problem] = {p.code: p for p in (
    Problem("unreachable", "máy chủ tỉnh không nhận kết nối (máy chủ tắt hoặc mất mạng)",
            "the hub does not accept connections (it is down or the network is)"),
    Problem("dns", "không tìm thấy địa chỉ máy chủ tỉnh (kiểm tra mạng, DNS)",
            "the hub's address cannot be found (check the network, DNS)"),
    Problem("timeout", "máy chủ tỉnh không trả lời kịp (đường truyền chậm hoặc đứt)",
            "the hub did not answer in time (the link is slow or cut)"),
    Problem("dropped", "kết nối bị ngắt giữa chừng", "the connection was cut midway"),
    Problem("tls", "chứng chỉ bảo mật không hợp lệ; hãy báo cán bộ CNTT của tỉnh",
            "the security certificate is not valid; tell the province's IT staff"),
    Problem("busy", "máy chủ tỉnh đang bận, sẽ tự thử lại", "the hub is busy; retrying"),
    Problem("server", "máy chủ tỉnh gặp lỗi", "the hub had an internal error"),
    Problem("rejected", "máy chủ tỉnh không chấp nhận máy này; hãy báo cán bộ CNTT của tỉnh",
            "the hub does not accept this box; tell the province's IT staff"),
    Problem("refused", "máy chủ tỉnh từ chối yêu cầu", "the hub refused the request"),
    Problem("reply", "máy chủ tỉnh trả lời không đọc được", "the hub's reply was unreadable"),
    Problem("network", "lỗi mạng", "a network error"),
)}


def reason_words(kind: str | None, lang: str) -> str:
    """Plain words for a stored failure kind; an unknown or missing kind reads as 'network'."""
    return REASONS.get(kind or "", REASONS["network"]).text(lang)
