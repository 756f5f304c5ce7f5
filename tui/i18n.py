"""Every word the clerk reads, in Vietnamese first and English second.

The TUI's language lives here, in this module's :class:`_Language` (Vietnamese until
:func:`set_language` says otherwise); texts made by the gateway itself
(:func:`~gateway.services.labels.summary_state`, ``Refused.text``) get it passed as
``lang()``. Nothing here reads or writes the environment.
"""

from __future__ import annotations

_STRINGS: dict[str, tuple[str, str]] = {
    # Application and main screen
    "app.title": ("Văn thư — {agency}", "Clerk — {agency}"),
    "tab.inbox": ("Văn bản đến ({n})", "Inbox ({n})"),
    "tab.inbox_unread": ("Văn bản đến ({n} · {u} chưa đọc)", "Inbox ({n} · {u} unread)"),
    "tab.shown": ("{shown}/{n}", "{shown}/{n}"),
    "triage.filter.all": ("Tất cả", "All"),
    "triage.filter.unhandled": ("Chưa xử lý", "Not handled"),
    "triage.filter.overdue": ("Quá hạn", "Overdue"),
    "triage.sort.date": ("mới đến trước", "newest first"),
    "triage.sort.urgency": ("khẩn trước", "most urgent first"),
    "triage.view": ("Đang xem: {filter}, {sort}. Văn bản Hỏa tốc, Khẩn chưa xử lý luôn ở trên "
                    "cùng.", "Showing: {filter}, {sort}. Unhandled immediate and urgent "
                    "documents stay on top."),
    "triage.search": ("Tìm (gõ không dấu cũng được), Enter: về danh sách, Esc: bỏ tìm",
                      "Search (accents optional), Enter: back to the list, Esc: clear"),
    "triage.found": ("Tìm '{q}': {n} văn bản", "Search '{q}': {n} documents"),
    "triage.new": ("{n} văn bản đến mới: {subjects}", "{n} new incoming: {subjects}"),
    "key.search": ("Tìm", "Search"),
    "key.ime": ("Kiểu gõ", "Typing"),
    "ime.telex": ("Gõ tiếng Việt: Telex (aa â, aw ă, ow ơ, dd đ; s f r x j dấu). F3: đổi",
                  "Vietnamese typing: Telex (aa â, aw ă, ow ơ, dd đ; s f r x j tones). F3: change"),
    "ime.vni": ("Gõ tiếng Việt: VNI (6 â ê ô, 7 ơ ư, 8 ă, 9 đ; 1-5 dấu). F3: đổi",
                "Vietnamese typing: VNI (6 â ê ô, 7 ơ ư, 8 ă, 9 đ; 1-5 tones). F3: change"),
    "ime.off": ("Tắt bộ gõ tiếng Việt của màn hình này. F3: bật lại",
                "The built-in Vietnamese typing is off. F3: turn it on"),
    "key.filter": ("Lọc", "Filter"),
    "key.sort": ("Sắp xếp", "Sort"),
    "tab.outbox": ("Văn bản đi ({n})", "Outbox ({n})"),
    "col.code": ("Số/ký hiệu", "Number"),
    "col.subject": ("Trích yếu", "Subject"),
    "col.from": ("Nơi gửi", "From"),
    "col.to": ("Nơi nhận", "To"),
    "col.urgency": ("Độ khẩn", "Urgency"),
    "col.date": ("Ngày", "Date"),
    "col.state": ("Trạng thái", "Status"),
    "empty.inbox": ("Chưa có văn bản đến.", "No incoming documents yet."),
    "empty.outbox": ("Chưa có văn bản đi. Nhấn n để soạn văn bản mới.",
                     "No outgoing documents yet. Press n to write one."),
    # Queue indicator (the link sentence is gateway.services.link.link_head)
    "q.pending": ("{n} văn bản chờ gửi", "{n} waiting to send"),
    "q.none": ("không có văn bản chờ gửi", "nothing waiting to send"),
    "q.dead": ("{n} văn bản gửi lỗi, cần mở ra xử lý", "{n} failed, open them to act"),
    "q.statuses": ("{n} trạng thái chờ báo về nơi gửi", "{n} statuses waiting to go out"),
    "q.downloading": ("đang tải {n} văn bản đến", "downloading {n} incoming"),
    "q.skew": ("đồng hồ của máy lệch {n} phút so với tỉnh", "clock is {n} min off the hub"),
    # Key bindings (also the help overlay)
    "key.compose": ("Soạn văn bản", "Compose"),
    "key.inbox": ("Văn bản đến", "Inbox"),
    "key.outbox": ("Văn bản đi", "Outbox"),
    "key.open": ("Mở văn bản", "Open"),
    "key.refresh": ("Làm mới", "Refresh"),
    "key.retry_now": ("Thử lại ngay", "Try now"),
    "key.help": ("Trợ giúp", "Help"),
    "key.lang": ("English", "Tiếng Việt"),
    "key.quit": ("Thoát", "Quit"),
    "key.back": ("Quay lại", "Back"),
    "key.accept": ("Tiếp nhận", "Accept"),
    "key.processing": ("Đang xử lý", "In progress"),
    "key.done": ("Hoàn thành", "Done"),
    "key.reject": ("Từ chối", "Reject"),
    "key.export": ("Xuất tệp", "Export files"),
    "key.retry": ("Gửi lại", "Resend"),
    "key.undo": ("Hoàn tác", "Undo"),
    "undo.hint": ("Nhầm? Nhấn u trong {s} giây để hoàn tác (chưa gửi đi).",
                  "A mistake? Press u within {s} s to undo (not sent yet)."),
    "undo.done": ("Đã hoàn tác '{label}': văn bản trở lại '{back}'. Nơi gửi không được báo gì.",
                  "Undone '{label}': the document is back to '{back}'. The sender is told "
                  "nothing."),
    "key.send": ("Gửi", "Send"),
    "key.cancel": ("Hủy", "Cancel"),
    "key.close": ("Đóng", "Close"),
    "key.add_file": ("Thêm tệp", "Add file"),
    "key.remove_file": ("Bỏ tệp đang chọn", "Remove the selected file"),
    "key.move": ("Chuyển ô", "Next field"),
    "key.toggle": ("Chọn / bỏ chọn", "Select / unselect"),
    # Textual's own key words that show in the footer
    "Dismiss menu": ("Đóng danh sách", "Dismiss menu"),
    "msg.retrying": ("Đã yêu cầu thử kết nối lại với tỉnh ngay.",
                     "Asked the sync service to try the province now."),
    "msg.quit_hint": ("Nhấn Ctrl+Q để thoát.", "Press Ctrl+Q to quit."),
    # Help overlay
    "help.title": ("Trợ giúp — phím tắt", "Help — keys"),
    "help.main": ("Màn hình chính", "Main screen"),
    "help.detail": ("Chi tiết văn bản", "Document detail"),
    "help.compose": ("Soạn văn bản đi", "Compose"),
    "help.footer": ("Nhấn Esc hoặc F1 để đóng.", "Press Esc or F1 to close."),
    "help.note": ("Mọi văn bản được lưu ngay trên máy; khi có mạng, máy tự gửi lên tỉnh.",
                  "Every document is saved on this box at once; it is sent when the link is up."),
    # Attachment viewer
    "help.viewer": ("Xem chữ của tệp đính kèm", "Reading an attachment"),
    "key.view": ("Xem chữ PDF", "Read PDF text"),
    "key.next_page": ("Trang sau", "Next page"),
    "key.prev_page": ("Trang trước", "Previous page"),
    "key.next_file": ("Tệp khác", "Next file"),
    "viewer.title": ("Xem chữ — {name}", "Text of {name}"),
    "viewer.title_page": ("Xem chữ — {name} — trang {page}/{n}",
                          "Text of {name} — page {page}/{n}"),
    "viewer.reading": ("Đang đọc chữ trong tệp…", "Reading the file's text…"),
    "viewer.scan": ("Tệp quét (ảnh), không có chữ để hiển thị — hãy xuất ra USB để xem",
                    "A scan (pictures), there is no text to show — export it to a USB drive "
                    "to view it"),
    "viewer.not_pdf": ("Tệp {name} không phải PDF nên không xem được ở đây — hãy xuất ra USB "
                       "để xem", "{name} is not a PDF, so it cannot be read here — export it "
                       "to a USB drive to view it"),
    "viewer.no_tool": ("Máy chưa cài công cụ đọc chữ PDF (poppler-utils) nên chưa xem được ở "
                       "đây — hãy xuất ra USB để xem và báo cán bộ CNTT",
                       "This box lacks the PDF text tool (poppler-utils) — export the file to "
                       "a USB drive to view it, and tell the IT team"),
    "viewer.failed": ("Không đọc được chữ trong tệp này (tệp hỏng, hoặc quá lớn, quá phức tạp) "
                      "— hãy xuất ra USB để xem", "Could not read this file's text (damaged, "
                      "too large or too complex) — export it to a USB drive to view it"),
    "viewer.cut": ("Tệp dài: chỉ hiện phần đầu. Muốn xem hết, hãy xuất ra USB.",
                   "A long file: only its beginning is shown. Export it to read it all."),
    # Document detail
    "detail.in": ("Văn bản đến", "Incoming document"),
    "detail.out": ("Văn bản đi", "Outgoing document"),
    "sec.signatures": ("Chữ ký số", "Digital signatures"),
    "sig.unchecked": ("Chưa kiểm tra chữ ký", "Signatures not checked yet"),
    "sig.no_pdf": ("Không có tệp PDF", "No PDF attachment"),
    "f.id": ("Mã văn bản", "Document id"),
    "f.code": ("Số/ký hiệu", "Number"),
    "f.type": ("Loại văn bản", "Type"),
    "f.subject": ("Trích yếu", "Subject"),
    "f.sender": ("Nơi gửi", "From"),
    "f.recipients": ("Nơi nhận", "To"),
    "f.urgency": ("Độ khẩn", "Urgency"),
    "f.issued": ("Ngày ban hành", "Issued"),
    "f.place": ("Nơi ban hành", "Place"),
    "f.signer": ("Người ký", "Signer"),
    "f.due": ("Hạn xử lý", "Due"),
    "f.state": ("Trạng thái", "Status"),
    "sec.attachments": ("Tệp đính kèm ({n})", "Attachments ({n})"),
    "sec.deliveries": ("Tình trạng từng nơi nhận", "Delivery to each recipient"),
    "sec.history": ("Lịch sử", "History"),
    "col.name": ("Tên tệp", "File"),
    "col.size": ("Dung lượng", "Size"),
    "col.sha": ("SHA-256", "SHA-256"),
    "col.recipient": ("Nơi nhận", "Recipient"),
    "col.when": ("Thời gian", "Time"),
    "col.actor": ("Người thực hiện", "By"),
    "col.event": ("Sự việc", "Event"),
    "col.note": ("Ghi chú", "Note"),
    "none": ("(không có)", "(none)"),
    "recall.pending": ("(đang xin thu hồi)", "(recall pending)"),
    # Results and problems
    "msg.marked": ("Đã ghi trạng thái '{label}'. Nơi gửi sẽ được báo khi có mạng.",
                   "Status '{label}' recorded; the sender is told when the link is up."),
    "msg.retried": ("Đã đưa văn bản vào hàng đợi gửi lại; máy sẽ tự gửi khi có mạng.",
                    "Queued for sending again; it goes out when the link is up."),
    "msg.exported": ("Đã xuất {n} tệp vào thư mục {dir}", "Exported {n} files to {dir}"),
    "msg.no_files": ("Văn bản này không có tệp đính kèm.", "This document has no attachments."),
    "msg.sent": ("Đã lưu và xếp hàng gửi văn bản {code} — mã {id}. Văn bản sẽ tự gửi lên "
                 "tỉnh khi có mạng.", "Saved and queued {code} — id {id}. It is sent to the "
                 "province when the link is up."),
    "msg.unexpected": ("Có lỗi không mong muốn ({what}). Dữ liệu đã lưu vẫn an toàn; hãy thử "
                       "lại, nếu vẫn lỗi hãy báo cán bộ CNTT.",
                       "Something unexpected went wrong ({what}). Saved data is safe; try "
                       "again, and call the IT team if it persists."),
    "msg.fatal_key": ("Nhấn q để thoát.", "Press q to quit."),
    "msg.not_marked": ("Chưa ghi trạng thái; văn bản giữ nguyên.",
                       "Nothing recorded; the document is unchanged."),
    "hint.status.illegal": ("Trạng thái chỉ đi tiếp: Đã đến → Đã tiếp nhận → Đang xử lý → "
                            "Hoàn thành; văn bản đã Hoàn thành hoặc Bị từ chối thì không đổi "
                            "được nữa.", "Statuses only move forward: Arrived → Accepted → "
                            "In progress → Done; a done or rejected document cannot change."),
    "os.ENOENT": ("không có thư mục này", "no such folder"),
    "os.EACCES": ("không có quyền ghi", "no permission to write"),
    "os.EPERM": ("không có quyền ghi", "no permission to write"),
    "os.ENOSPC": ("hết chỗ trống", "no space left"),
    "os.EROFS": ("ổ đĩa chỉ cho đọc", "read-only disk"),
    "os.ENOTDIR": ("đường dẫn không phải thư mục", "not a folder"),
    "msg.not_inbox": ("Chỉ ghi trạng thái cho văn bản đến.",
                      "Statuses are only for incoming documents."),
    "msg.not_dead": ("Chỉ gửi lại được văn bản đang gửi lỗi.",
                     "Only failed documents can be resent."),
    "prompt.reject": ("Lý do từ chối (bắt buộc, nơi gửi sẽ đọc):",
                      "Reason for rejecting (required, the sender reads it):"),
    "prompt.reject_empty": ("Hãy ghi lý do từ chối để nơi gửi biết.",
                            "Write a reason so the sender knows why."),
    "prompt.export": ("Xuất các tệp đính kèm vào thư mục:", "Export the attachments to folder:"),
    "prompt.export_empty": ("Hãy nhập đường dẫn thư mục.", "Enter a folder path."),
    "prompt.ok": ("Đồng ý", "OK"),
    "prompt.yes": ("Có, ghi trạng thái (c)", "Yes, record it (y)"),
    "prompt.no": ("Không (k, Esc)", "No (n, Esc)"),
    "prompt.yes_key": ("Có", "Yes"),
    "prompt.no_key": ("Không", "No"),
    "prompt.final": ("Ghi trạng thái '{label}' cho văn bản {code}?\n\nĐây là trạng thái cuối: "
                     "nơi gửi sẽ được báo và sau đó không đổi được nữa.",
                     "Record '{label}' for document {code}?\n\nThis is a final status: the "
                     "sender is told, and it cannot be changed afterwards."),
    # File picker
    "picker.title_file": ("Chọn tệp đính kèm", "Choose a file to attach"),
    "picker.title_folder": ("Chọn thư mục để xuất tệp", "Choose a folder to export into"),
    "picker.places": ("USB đang cắm và thư mục riêng — Enter để mở",
                      "USB drives and your home folder — Enter to open"),
    "picker.no_usb": ("Không thấy USB nào đang cắm. Cắm USB rồi chờ vài giây, nhấn Esc và mở "
                      "lại.", "No USB drive is mounted. Plug one in, wait a few seconds, press "
                      "Esc and open this again."),
    "picker.usb": ("USB", "USB"),
    "picker.home": ("Thư mục riêng", "Home folder"),
    "picker.up_row": (".. (lên thư mục trên)", ".. (up one folder)"),
    "picker.here_row": ("[ Xuất vào thư mục này (c) ]", "[ Export into this folder (c) ]"),
    "picker.up": ("Lên trên", "Up"),
    "picker.here": ("Xuất vào đây", "Export here"),
    "picker.typed": ("Gõ đường dẫn", "Type a path"),
    "picker.typed_file": ("Đường dẫn tệp cần đính kèm:", "Path of the file to attach:"),
    "picker.more": ("Thư mục có quá nhiều tệp: {n} tệp không hiện. Hãy mở thư mục con, hoặc "
                    "nhấn / để gõ đường dẫn.", "Too many files: {n} not shown. Open a "
                    "subfolder, or press / to type a path."),
    "picker.unreadable": ("Không mở được thư mục này: {why}.", "Cannot open this folder: {why}."),
    "picker.empty_files": ("Không có tệp phù hợp ở đây (chỉ hiện PDF, ảnh, tệp Word, Excel, "
                           "PowerPoint, LibreOffice).", "No suitable files here (only PDF, "
                           "images, Word, Excel, PowerPoint, LibreOffice files are shown)."),
    "picker.empty_folders": ("Không có thư mục con; nhấn c để xuất vào thư mục này.",
                             "No subfolders; press c to export into this folder."),
    "key.pick_file": ("Chọn tệp", "Choose file"),
    "help.picker": ("Chọn tệp, chọn thư mục", "Choosing a file or folder"),
    "key.pick_open": ("Mở USB, thư mục; chọn tệp", "Open a drive or folder; choose a file"),
    # Compose
    "compose.title": ("Soạn văn bản đi", "New outgoing document"),
    "c.recipients": ("Nơi nhận", "Recipients"),
    "c.filter": ("Gõ để tìm cơ quan (tên hoặc mã)…", "Type to find an agency (name or code)…"),
    "c.chosen": ("Đã chọn {n} nơi nhận", "{n} recipients chosen"),
    "c.chosen_none": ("Chưa chọn nơi nhận — phím cách để chọn",
                      "No recipient yet — press space to choose"),
    "c.number": ("Số/ký hiệu", "Number"),
    "c.number_ph": ("ví dụ 12/UBND-VP", "e.g. 12/UBND-VP"),
    "c.type": ("Loại văn bản", "Type"),
    "c.subject": ("Trích yếu", "Subject"),
    "c.subject_ph": ("V/v …", "Re: …"),
    "c.urgency": ("Độ khẩn", "Urgency"),
    "c.due": ("Hạn xử lý", "Due"),
    "c.due_ph": ("ngày/tháng/năm", "day/month/year"),
    "c.secrecy": ("Độ mật", "Secrecy"),
    "c.signer": ("Người ký", "Signer"),
    "c.place": ("Nơi ban hành", "Place"),
    "c.files": ("Tệp đính kèm", "Attachments"),
    "c.file_ph": ("Đường dẫn tệp, ví dụ /media/usb/congvan.pdf — Enter để thêm",
                  "File path, e.g. /media/usb/letter.pdf — Enter to add"),
    "c.add": ("Thêm", "Add"),
    "c.pick": ("Chọn tệp (F4)", "Choose (F4)"),
    "c.files_none": ("Chưa có tệp đính kèm.", "No attachments yet."),
    "c.send": ("Gửi", "Send"),
    "c.cancel": ("Hủy", "Cancel"),
    "sec.none": ("Không", "None"),
    "sec.mat": ("Mật", "Secret"),
    "sec.toi_mat": ("Tối mật", "Top secret"),
    "sec.tuyet_mat": ("Tuyệt mật", "Ultra secret"),
    "c.secret_warning": ("Văn bản {level} không được gửi qua hệ thống này. Hãy chuyển bản "
                         "giấy theo đường văn bản mật; nếu đây là văn bản thường, chọn lại "
                         "Độ mật: Không.",
                         "A {level} document may not be sent through this system. Send the "
                         "paper copy through the secret channel; if it is not secret, set "
                         "Secrecy back to None."),
    "c.file_missing": ("Không thấy tệp {path}. Hãy kiểm tra lại đường dẫn (USB đã cắm chưa?).",
                       "File {path} not found. Check the path (is the USB stick in?)."),
    "c.file_unreadable": ("Không đọc được tệp {path} (không có quyền đọc). Hãy chép tệp sang "
                          "thư mục của mình rồi thử lại.",
                          "Cannot read {path} (no permission). Copy it to your own folder "
                          "and try again."),
    "c.file_empty": ("Hãy gõ đường dẫn tệp rồi nhấn Enter.", "Type a file path, then Enter."),
    "c.file_dup": ("Tệp {name} đã có trong danh sách.", "{name} is already attached."),
    "c.file_added": ("Đã thêm tệp {name} ({size}).", "Added {name} ({size})."),
    "c.bad_due": ("Hạn xử lý không hợp lệ: '{text}'. Hãy gõ ngày/tháng/năm, ví dụ 31/12/2026.",
                  "Invalid due date: '{text}'. Type day/month/year, e.g. 31/12/2026."),
    "c.leave_confirm": ("Văn bản đang soạn chưa được gửi. Nhấn Esc lần nữa để bỏ, hoặc tiếp "
                        "tục soạn.", "This document is not sent. Press Esc again to discard "
                        "it, or keep writing."),
    "c.sending": ("Đang lưu văn bản…", "Saving the document…"),
    "c.refused": ("Chưa gửi được: {why}", "Not sent: {why}"),
    # The signing token's PIN (gateway.signing.errors words the token's refusals)
    "pin.question": ("Nhập mã PIN của thiết bị ký số (USB token) để ký văn bản",
                     "Enter the PIN of the signing token (USB token) to sign the document"),
    "pin.token": ("Thiết bị: {which}", "Token: {which}"),
    "pin.hint": ("Mã PIN không hiện trên màn hình và không được lưu lại. Nhập sai nhiều lần "
                 "liên tiếp, thiết bị sẽ bị khóa. Esc: hủy, văn bản không được gửi.",
                 "The PIN is not shown and not kept. Too many wrong PINs in a row lock the "
                 "token. Esc: cancel, the document is not sent."),
    "pin.empty": ("Hãy nhập mã PIN.", "Type the PIN."),
    "pin.ok": ("Ký và gửi", "Sign and send"),
    "hint.signing.pin_cancelled": ("Nhấn Ctrl+S khi sẵn sàng gửi.",
                                   "Press Ctrl+S when ready to send."),
    "hint.signing.pin_wrong": ("Nhấn Ctrl+S để nhập lại.", "Press Ctrl+S to try again."),
    "hint.export.unwritable": ("Hãy kiểm tra USB đã cắm, còn chỗ trống và đường dẫn đúng.",
                               "Check the USB stick is in, has space, and the path is right."),
    "hint.export.not_a_folder": ("Hãy gõ đường dẫn tới một thư mục, không phải một tệp.",
                                 "Type the path of a folder, not of a file."),
    "hint.recipients.empty": ("Chọn ít nhất một nơi nhận ở cột bên trái.",
                              "Choose at least one recipient on the left."),
    "hint.number.empty": ("Điền Số/ký hiệu, ví dụ 12/UBND-VP.", "Fill in the number."),
    "hint.subject.empty": ("Điền Trích yếu.", "Fill in the subject."),
    "hint.recipients.self": ("Bỏ chọn cơ quan mình trong danh sách nơi nhận.",
                             "Unselect your own agency."),
}


class _Language:
    current = "vi"


def lang() -> str:
    return _Language.current


def set_language(code: str) -> None:
    """Switches the UI language (``vi`` or ``en``) for this process."""
    _Language.current = "en" if code.lower().startswith("en") else "vi"


def has(key: str) -> bool:
    return key in _STRINGS


def t(key: str, **values: object) -> str:
    """The text for ``key`` in the current language; unknown keys are shown as they are."""
    pair = _STRINGS.get(key)
    if pair is None:
        return key
    text = pair[1] if _Language.current == "en" else pair[0]
    return text.format(**values) if values else text
