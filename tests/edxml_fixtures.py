"""Our own edXML fixtures (never copies of the SDK samples)."""

from __future__ import annotations

from gateway.edxml import NS

SAMPLES_DIR = "/work/shared/interop/edxml"


def small_document(*, extra_header: str = "", business: str = "Bussiness",
                   payload: str = "SGVsbG8sIHjDoyE=") -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<edXML xmlns="{NS}" xmlns:v="urn:vendor">
 <edXMLEnvelope><edXMLHeader><MessageHeader>
  <From><OrganId>000.00.21.H35</OrganId><OrganName>UBND xã Một</OrganName></From>
  <To><OrganId>000.00.05.G10</OrganId><OrganName>Bộ Thử</OrganName></To>
  <DocumentId>000.00.21.H35,2025/03/04,12/UBND-VP</DocumentId>
  <Code><CodeNumber>12</CodeNumber><CodeNotation>UBND-VP</CodeNotation></Code>
  <PromulgationInfo><Place>Xã Một</Place><PromulgationDate>04/03/2025</PromulgationDate>
  </PromulgationInfo>
  <DocumentType><Type>1</Type><TypeName>Công văn</TypeName></DocumentType>
  <Subject>Báo cáo tháng &amp; kế hoạch</Subject>
  <SignerInfo><FullName>Lò Văn A</FullName></SignerInfo>
  <DueDate>2025/03/20</DueDate>
  <OtherInfo><Priority>2</Priority></OtherInfo>{extra_header}
 </MessageHeader>
 <TraceHeaderList><{business}><{business}DocType>1</{business}DocType></{business}>
 </TraceHeaderList></edXMLHeader>
 <edXMLBody><edXMLManifest version="1.0"><Reference v:mark="x">
  <ContentId>cid:1</ContentId><ContentType>text/plain</ContentType>
  <AttachmentName>a.txt</AttachmentName></Reference></edXMLManifest></edXMLBody>
 </edXMLEnvelope>
 <AttachmentEncoded><Attachment><ContentId>cid:1</ContentId><AttachmentName>a.txt</AttachmentName>
  <ContentType>text/plain</ContentType>
  <ContentTransferEncoded>{payload}</ContentTransferEncoded></Attachment></AttachmentEncoded>
</edXML>""".encode()
