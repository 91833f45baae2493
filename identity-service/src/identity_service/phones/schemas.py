"""Shapes of the phone-binding and decryption APIs."""

from typing import Self

from pydantic import BaseModel, Field, model_validator

from shared.fields import Text


class PhoneBind(BaseModel):
    """Either the ``getphonenumber`` button code, or the legacy encryptedData + iv."""

    code: Text | None = Field(None, min_length=1, max_length=256)
    encrypted_data: Text | None = Field(None, min_length=1, max_length=8192)
    iv: Text | None = Field(None, min_length=1, max_length=64)

    @model_validator(mode="after")
    def _one_form(self) -> Self:
        legacy = self.encrypted_data is not None or self.iv is not None
        if self.code is not None and legacy:
            raise ValueError("send either code, or encrypted_data and iv, not both")
        if self.code is None and (self.encrypted_data is None or self.iv is None):
            raise ValueError("send code, or both encrypted_data and iv")
        return self


class PhoneRead(BaseModel):
    """The member's phone as the member sees it (masked)."""

    bound: bool
    masked: Text | None = None
    country_code: Text | None = None


class EncryptedDataDecrypt(BaseModel):
    """Mini-program encryptedData to open with the member's current session_key."""

    encrypted_data: Text = Field(min_length=1, max_length=65536)
    iv: Text = Field(min_length=1, max_length=64)
