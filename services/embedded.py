"""``thidua run``: the whole system in one process, on one machine, with nothing to install.

All four services are mounted under their prefixes on one threaded HTTP server; their consumers and outbox
relays run on background threads; the bus is kombu's in-memory transport and the databases are SQLite files
in the data folder. The in-memory broker forgets its messages when the process stops, so at start-up every
service sends its whole outbox again and the consumers' inboxes drop what they had already applied: an event
committed before a stop, even a crash, is never lost.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType

from werkzeug.serving import BaseWSGIServer, make_server

from services.bootstrap import System
from services.portal.demo import DEMO_PASSWORD, ensure_demo_accounts
from shared.clock import format_local_datetime, to_local
from shared.settings import Settings

log = logging.getLogger(__name__)


class EmbeddedSystem:
    def __init__(self, settings: Settings, say: Callable[[str], None] = print):
        self.settings = settings
        self.say = say
        self.system = System(settings, portal=True)
        self.server: BaseWSGIServer | None = None
        self._stopping = threading.Event()
        self.stopped = threading.Event()

    def start(self) -> str:
        """Migrate, start the threads and the server; return the address it listens on."""
        for line in self.system.upgrade_databases():
            log.info(line)
        assert self.system.portal is not None
        for code in self.system.campaigns:
            ensure_demo_accounts(self.system.portal, code)
        self.system.declare_topology()
        if self.settings.broker_is_volatile:
            resent = sum(runtime.relay.resend_all() for runtime in self.system.runtimes.values())
            if resent:
                self.say(f"Gửi lại {resent} sự kiện từ outbox (hàng đợi trong bộ nhớ được làm mới).")
        self.system.start_consumers()
        self.system.start_relays()
        self.server = make_server(self.settings.host, self.settings.port, self.system.wsgi(), threaded=True)
        return f"http://{self.settings.host}:{self.server.server_port}"

    def serve_forever(self) -> None:
        assert self.server is not None
        self.server.serve_forever()

    def stop(self) -> None:
        if self._stopping.is_set():
            return
        self._stopping.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        self.system.stop()
        self.stopped.set()

    def banner(self, address: str) -> str:
        now = to_local(self.system.clock.now())
        campaigns = ", ".join(sorted(self.system.campaigns))
        data_dir = self.settings.data_dir.resolve()
        return "\n".join(
            [
                f"thidua đang chạy tại {address}",
                f"  Đồng hồ hệ thống: {format_local_datetime(now)} (giờ Việt Nam)",
                f"  Phong trào: {campaigns}",
                f"  Dữ liệu: {data_dir}",
                f"  Cổng thông tin: {address}/ — tài khoản mẫu, mật khẩu {DEMO_PASSWORD} (`thidua users list`):",
                "    văn thư: vanthu.<mã đơn vị>, ví dụ vanthu.hoa-tan; Phòng VH-TT: chuyenvien1.vhtt,",
                "    chuyenvien2.vhtt, truongphong.vhtt; Phòng Nội vụ: noivu; Hội đồng: chu-tich-ubnd (chủ tịch),",
                "    truong-phong-noi-vu (thư ký), pho-chu-tich-ubnd, …; kiểm tra: kiemtra; quản trị: quantri",
                f"  Tài liệu API: {address}/intake/docs, /review/docs, /awards/docs, /audit/docs",
                "  Lấy mã truy cập (token), ví dụ cho văn thư xã Hòa Tân:",
                f"    thidua token --data-dir {data_dir} --role unit_clerk --unit hoa-tan --name 'Nguyễn Văn A'",
                "  Dừng: Ctrl-C",
            ]
        )


def run_embedded(settings: Settings) -> None:
    embedded = EmbeddedSystem(settings)
    address = embedded.start()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        # shutdown() waits for serve_forever to return, so it must not run on the serving (main) thread.
        threading.Thread(target=embedded.stop, name="shutdown").start()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    embedded.say(embedded.banner(address))
    embedded.serve_forever()
    embedded.stopped.wait()
    embedded.say("Đã dừng; mọi dữ liệu đã ghi được giữ lại.")
