package lab

import (
	"errors"
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/windows"
)

// job is a Windows job object with JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE, which
// every instance joins before it runs (childAttr starts it suspended). Its
// one handle is the lab's; when it is closed, by close or by Windows as the
// lab ends however it ends (Ctrl-C, the Task Manager, a crash), Windows
// terminates every process still in the job: Windows' Pdeathsig.
type job struct{ h windows.Handle }

func newJob() (*job, error) {
	h, err := windows.CreateJobObject(nil, nil)
	if err != nil {
		return nil, fmt.Errorf("job object: %w", err)
	}
	var info windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION
	info.BasicLimitInformation.LimitFlags = windows.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
	if _, err := windows.SetInformationJobObject(h, windows.JobObjectExtendedLimitInformation,
		uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info))); err != nil {
		windows.CloseHandle(h)
		return nil, fmt.Errorf("job object: kill on close: %w", err)
	}
	return &job{h: h}, nil
}

// adopt puts p, started suspended, in the job, then lets it run. p's PID
// cannot name another process meanwhile: p holds a handle to its process.
func (j *job) adopt(p *os.Process) error {
	h, err := windows.OpenProcess(windows.PROCESS_SET_QUOTA|windows.PROCESS_TERMINATE, false, uint32(p.Pid))
	if err != nil {
		return fmt.Errorf("job object: open process %d: %w", p.Pid, err)
	}
	defer windows.CloseHandle(h)
	if err := windows.AssignProcessToJobObject(j.h, h); err != nil {
		return fmt.Errorf("job object: assign process %d: %w", p.Pid, err)
	}
	if err := resume(uint32(p.Pid)); err != nil {
		return fmt.Errorf("job object: %w", err)
	}
	return nil
}

// resume resumes the threads of the process pid, started suspended: its
// main thread, the only one it has.
func resume(pid uint32) error {
	snap, err := windows.CreateToolhelp32Snapshot(windows.TH32CS_SNAPTHREAD, 0)
	if err != nil {
		return fmt.Errorf("resume %d: thread snapshot: %w", pid, err)
	}
	defer windows.CloseHandle(snap)
	te := windows.ThreadEntry32{Size: uint32(unsafe.Sizeof(windows.ThreadEntry32{}))}
	resumed := 0
	for err = windows.Thread32First(snap, &te); err == nil; err = windows.Thread32Next(snap, &te) {
		if te.OwnerProcessID != pid {
			continue
		}
		th, err := windows.OpenThread(windows.THREAD_SUSPEND_RESUME, false, te.ThreadID)
		if err != nil {
			return fmt.Errorf("resume %d: open thread %d: %w", pid, te.ThreadID, err)
		}
		_, err = windows.ResumeThread(th)
		windows.CloseHandle(th)
		if err != nil {
			return fmt.Errorf("resume %d: thread %d: %w", pid, te.ThreadID, err)
		}
		resumed++
	}
	if !errors.Is(err, windows.ERROR_NO_MORE_FILES) {
		return fmt.Errorf("resume %d: threads: %w", pid, err)
	}
	if resumed == 0 {
		return fmt.Errorf("resume %d: no thread", pid)
	}
	return nil
}

// close closes the job's handle: any process still in it is terminated.
func (j *job) close() { windows.CloseHandle(j.h) }
